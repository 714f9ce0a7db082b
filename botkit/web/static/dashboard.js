// The dashboard: polls the JSON API every 2 s and draws the tables and two SVG charts. No build
// step, no library; every value goes into the page as text (textContent), never as HTML.
"use strict";
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 2000;
let selected = decodeURIComponent(location.hash.slice(1)) || null;

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(id, rows, columns) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren();
  for (const item of rows) {
    const row = body.insertRow();
    for (const column of columns) cell(row, item[column]);
  }
  return body;
}

function chart(id, points) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  if (points.length < 2) return;
  const xs = points.map(p => p.ts), ys = points.map(p => Number(p.value));
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = v => 50 + (x1 > x0 ? (v - x0) / (x1 - x0) : 0.5) * 540;
  const sy = v => 150 - (y1 > y0 ? (v - y0) / (y1 - y0) : 0.5) * 140;
  const ns = "http://www.w3.org/2000/svg";
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.map((p, i) => `${sx(xs[i]).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(" "));
  svg.appendChild(line);
  for (const [value, y] of [[y1, 14], [y0, 156]]) {
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", "2"); label.setAttribute("y", String(y));
    label.textContent = String(value);
    svg.appendChild(label);
  }
}

async function act(path) {
  const response = await fetch(`/api/bots/${encodeURIComponent(selected)}/${path}`,
    {method: "POST", headers: {"X-CSRF-Token": CSRF}, credentials: "same-origin"});
  const answer = await response.json();
  document.getElementById("message").textContent = response.ok ? "" : answer.error;
  refresh();
}

function showBots(bots) {
  if (!selected && bots.length) selected = bots[0].bot;
  const body = document.querySelector("#bots tbody");
  body.replaceChildren();
  for (const b of bots) {
    const row = body.insertRow();
    row.className = "bot" + (b.bot === selected ? " sel" : "");
    row.dataset.bot = b.bot;
    row.onclick = () => { selected = b.bot; location.hash = encodeURIComponent(b.bot); refresh(); };
    cell(row, b.bot); cell(row, b.state, b.state);
    cell(row, b.last_tick_age_seconds === null ? "-" : `${Number(b.last_tick_age_seconds).toFixed(1)}s ago`);
    cell(row, b.ticks); cell(row, b.position_btc); cell(row, b.equity_usd); cell(row, b.open_orders);
    cell(row, b.pnl_today_usd); cell(row, b.kill_switch, b.kill_switch);
  }
}

function showBot(d) {
  document.getElementById("detail").hidden = false;
  document.getElementById("bot-name").textContent = d.status.bot;
  const state = document.getElementById("bot-state");
  state.textContent = d.status.state; state.className = d.status.state;
  const kill = document.getElementById("kill-switch");
  kill.textContent = d.status.kill_switch === "off" ? "off" : `tripped: ${d.status.kill_switch_reason}`;
  kill.className = d.status.kill_switch;
  chart("equity-chart", d.equity);
  chart("position-chart", d.position);
  const body = document.querySelector("#strategies tbody");
  body.replaceChildren();
  for (const s of d.strategies) {
    const row = body.insertRow();
    row.dataset.strategy = s.strategy;
    cell(row, s.strategy); cell(row, s.state, s.state); cell(row, s.consecutive_failures);
    cell(row, s.reason); cell(row, s.last_error);
    const button = document.createElement("button");
    const verb = s.state === "paused" ? "resume" : "pause";
    button.textContent = verb; button.className = verb;
    button.onclick = () => act(`strategies/${encodeURIComponent(s.strategy)}/${verb}`);
    row.insertCell().appendChild(button);
  }
  fill("orders", d.open_orders, ["id", "strategy", "side", "price", "quantity", "filled_quantity", "status",
                                  "created_at"]);
  fill("fills", d.fills, ["time", "strategy", "side", "price", "quantity", "fee", "liquidity", "exchange_order_id"]);
  fill("rejections", d.rejections, ["time", "strategy", "rule", "reason"]);
  fill("errors", d.errors, ["time", "where", "error"]);
  fill("actions", d.actions, ["requested_at", "action", "strategy", "who", "outcome"]);
}

async function refresh() {
  try {
    const response = await fetch("/api/bots", {credentials: "same-origin"});
    if (response.status === 401) { location.href = "/login"; return; }
    const bots = await response.json();
    showBots(bots);
    if (selected) {
      const one = await fetch(`/api/bots/${encodeURIComponent(selected)}`, {credentials: "same-origin"});
      if (one.ok) showBot(await one.json());
    }
    document.getElementById("updated").textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
  } catch (error) {
    document.getElementById("message").textContent = `cannot reach botkit: ${error}`;
  }
}

for (const button of document.querySelectorAll("button[data-action]")) {
  button.onclick = () => act(button.dataset.action);
}
refresh();
setInterval(refresh, POLL_MS);
