// The back end: a health endpoint for the load balancer and the container
// health check, and one API route. Every request is logged as one JSON line
// on stdout; the Fluent Bit sidecar sends lines with "level":"error" to
// CloudWatch Logs and everything else (the access log) to S3.
"use strict";

const express = require("express");

function log(fields) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + "\n");
}

function createApp({ serviceName = process.env.SERVICE_NAME || "backend", logger = log } = {}) {
  const app = express();

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      logger({
        level: res.statusCode >= 500 ? "error" : "info",
        type: "access",
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    next();
  });

  app.get("/health", (req, res) => {
    res.json({ status: "ok", service: serviceName });
  });

  app.get("/api/hello", (req, res) => {
    const name = typeof req.query.name === "string" && req.query.name.trim() ? req.query.name.trim() : "world";
    res.json({ message: `hello, ${name}`, service: serviceName });
  });

  app.use("/api", (req, res) => {
    res.status(404).json({ error: "not found", path: req.originalUrl });
  });

  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    logger({ level: "error", type: "exception", message: err.message, stack: err.stack });
    res.status(500).json({ error: "internal error" });
  });

  return app;
}

module.exports = { createApp };
