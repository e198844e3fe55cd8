"use strict";

const test = require("node:test");
const assert = require("node:assert");
const { execFile } = require("node:child_process");
const path = require("node:path");
const { createApp } = require("../app");

async function withServer(fn, logs = []) {
  const app = createApp({ serviceName: "backend", logger: (l) => logs.push(l) });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await fn(base, server.address().port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test("/health answers ok", async () => {
  await withServer(async (base) => {
    const res = await fetch(`${base}/health`);
    assert.strictEqual(res.status, 200);
    assert.deepStrictEqual(await res.json(), { status: "ok", service: "backend" });
  });
});

test("/api/hello greets, by name when given one", async () => {
  await withServer(async (base) => {
    assert.deepStrictEqual(await (await fetch(`${base}/api/hello`)).json(), { message: "hello, world", service: "backend" });
    assert.strictEqual((await (await fetch(`${base}/api/hello?name=ecs`)).json()).message, "hello, ecs");
  });
});

test("unknown API paths are 404 JSON", async () => {
  await withServer(async (base) => {
    const res = await fetch(`${base}/api/nope`);
    assert.strictEqual(res.status, 404);
    assert.strictEqual((await res.json()).error, "not found");
  });
});

test("every request is logged as an access line the log router can route", async () => {
  const logs = [];
  await withServer(async (base) => {
    await fetch(`${base}/api/hello`);
    await new Promise((r) => setTimeout(r, 20));
  }, logs);
  const line = logs.find((l) => l.type === "access");
  assert.ok(line, JSON.stringify(logs));
  assert.strictEqual(line.level, "info");
  assert.strictEqual(line.status, 200);
  assert.strictEqual(line.path, "/api/hello");
});

test("the container health check passes against a live server and fails without one", async () => {
  const script = path.join(__dirname, "..", "healthcheck.js");
  const run = (port) =>
    new Promise((resolve) => execFile(process.execPath, [script], { env: { ...process.env, PORT: String(port) } }, (err) => resolve(err ? err.code : 0)));
  await withServer(async (_base, port) => {
    assert.strictEqual(await run(port), 0);
  });
  assert.strictEqual(await run(1), 1);
});
