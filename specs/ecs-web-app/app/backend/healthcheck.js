// The container health check, run by ECS inside the container:
// exit 0 when /health answers 200 within 3 seconds, 1 otherwise.
// It uses node itself, which the base image always has (the original
// project's check ran curl, which node:16-alpine lacks, so it never passed).
"use strict";

const http = require("http");

const port = Number(process.env.PORT || 8080);
const req = http.get({ host: "127.0.0.1", port, path: "/health", timeout: 3000 }, (res) => {
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", () => process.exit(1));
