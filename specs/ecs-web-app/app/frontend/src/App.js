// The front end: asks the back end (routed by the load balancer's /api/*
// rule) for a greeting and shows it.
import { createElement as h, useEffect, useState } from "react";

export default function App() {
  const [greeting, setGreeting] = useState("loading…");
  const [name, setName] = useState("");

  async function load(who) {
    try {
      const query = who ? `?name=${encodeURIComponent(who)}` : "";
      const res = await fetch(`/api/hello${query}`);
      const body = await res.json();
      setGreeting(res.ok ? body.message : `error: ${body.error}`);
    } catch (err) {
      setGreeting(`the back end is unreachable (${err.message})`);
    }
  }

  useEffect(() => {
    load("");
  }, []);

  return h(
    "main",
    { style: { fontFamily: "sans-serif", margin: "4rem auto", maxWidth: "32rem" } },
    h("h1", null, "ECS web app"),
    h("p", { "data-testid": "greeting" }, greeting),
    h(
      "form",
      { onSubmit: (e) => { e.preventDefault(); load(name); } },
      h("input", { value: name, placeholder: "your name", onChange: (e) => setName(e.target.value) }),
      h("button", { type: "submit" }, "Greet me"),
    ),
  );
}
