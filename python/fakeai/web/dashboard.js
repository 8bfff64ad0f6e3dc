// fakeai dashboard: renders each /metrics/stream message; rates come from the difference between two
// consecutive messages (their uptime_seconds give the elapsed time).
"use strict";

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const pct = (x) => `${fmt.format(100 * x)}%`;
const ms = (seconds) => fmt.format(1000 * seconds);
let previous = null;

function setText(id, value) {
  const el = $(id);
  if (el.textContent !== String(value)) el.textContent = value;
}

function uptime(seconds) {
  const s = Math.floor(seconds);
  return s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function modelRow(m) {
  const row = document.createElement("tr");
  const cells = [
    m.model, m.requests, m.errors, m.prompt_tokens, m.completion_tokens, m.running,
    ms(m.latency_seconds.ttft.p50), ms(m.latency_seconds.itl.p50), ms(m.latency_seconds.e2e.p99),
  ];
  for (const value of cells) {
    const cell = document.createElement("td");
    cell.textContent = typeof value === "number" ? fmt.format(value) : value;
    row.appendChild(cell);
  }
  return row;
}

function render(m) {
  setText("uptime", uptime(m.uptime_seconds));
  setText("workers", m.workers);
  setText("requests-total", fmt.format(m.requests.total));
  setText("in-flight", m.requests.in_flight);
  setText("tokens-total", fmt.format(m.tokens.total));
  setText("p50", ms(m.latency_seconds.p50));
  setText("p90", ms(m.latency_seconds.p90));
  setText("p99", ms(m.latency_seconds.p99));
  setText("error-rate", pct(m.errors.rate));
  setText("errors-total", fmt.format(m.errors.total));
  setText("slo-share", pct(m.slo.share));
  setText("slo-objective", ms(m.slo.objective_seconds));
  setText("kv-hit-rate", pct(m.engine.prefix_cache_hit_rate));
  setText("running", m.engine.running);
  setText("waiting", m.engine.waiting);
  if (previous !== null) {
    const dt = m.uptime_seconds - previous.uptime_seconds;
    if (dt > 0) {
      setText("request-rate", fmt.format((m.requests.total - previous.requests.total) / dt));
      setText("token-rate", fmt.format((m.tokens.total - previous.tokens.total) / dt));
    }
  }
  previous = m;
  $("models").replaceChildren(...Object.values(m.models).map(modelRow));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/metrics/stream`);
  socket.onopen = () => { setText("status", "live"); $("status").classList.add("live"); };
  socket.onmessage = (event) => render(JSON.parse(event.data));
  socket.onclose = () => {
    setText("status", "reconnecting…");
    $("status").classList.remove("live");
    setTimeout(connect, 2000);
  };
}

connect();
