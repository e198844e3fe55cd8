"use strict";

const { createApp } = require("./app");

const port = Number(process.env.PORT || 8080);
const server = createApp().listen(port, () => {
  process.stdout.write(JSON.stringify({ level: "info", type: "startup", port }) + "\n");
});

// ECS stops tasks with SIGTERM: finish requests in flight, then exit.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
