// The live event stream with filters (wallet, asset, type, a starting seq),
// read through EventFollower (fetch + ReadableStream, resumed with
// Last-Event-ID). The list keeps the newest ROWS_MAX events.

import { formatAmount, minorToMajor } from "./amounts.js";
import { $, el, clear } from "./dom.js";
import { EventFollower } from "./stream.js";

const ROWS_MAX = 200;
let follower = null;
let received = 0;

export function leave() {
  if (follower) follower.stop();
  follower = null;
}

export function bind(ctx) {
  $("events-form").addEventListener("submit", (e) => {
    e.preventDefault();
    start(ctx);
  });
  $("ev-stop").addEventListener("click", () => leave());
}

export function show() {
  setState("stopped", "");
}

function query() {
  const q = new URLSearchParams();
  for (const [id, name] of [["ev-wallet", "wallet"], ["ev-asset", "asset"], ["ev-type", "type"]]) {
    const v = $(id).value.replace(/\s+/g, "");
    if (v) q.set(name, v);
  }
  const after = $("ev-after").value.trim();
  if (after) q.set("after_seq", after);
  const s = q.toString();
  return s ? "?" + s : "";
}

function setState(state, detail) {
  const b = $("ev-state");
  b.textContent = state + (detail ? ": " + detail : "");
  b.classList.toggle("on", state === "live");
  const running = state === "live" || state === "reconnecting";
  $("ev-start").disabled = running;
  $("ev-stop").disabled = !running;
}

async function start(ctx) {
  leave();
  ctx.error("");
  clear($("ev-list"));
  received = 0;
  $("ev-count").textContent = "";
  const scales = await ctx.assetScales();
  follower = new EventFollower("/v1/events/stream" + query(), {
    onEvent: (ev) => addEvent(ev, scales),
    onState: (state, detail) => {
      setState(state, state === "refused" ? "" : detail);
      if (state === "refused") ctx.error("The stream was refused. " + detail);
    },
  });
  follower.start();
}

// What an event did to balances, in major units: "4 USD −10.00; 5 USD 10.00".
function moves(ev, scales) {
  const parts = [];
  for (const f of ev.effects || []) {
    if (f.effect !== "balance_changed") continue;
    const scale = scales.get(f.asset);
    const net = subtractMinor(f.d_credits_posted, f.d_debits_posted);
    if (net !== "0") parts.push(f.account + " " + f.asset + " " + formatAmount(minorToMajor(net, scale)));
  }
  return parts.join("; ");
}

// a - b for non-negative integer strings, by digits (no Number()).
export function subtractMinor(a, b) {
  const x = String(a || "0").replace(/^0+(?=\d)/, ""), y = String(b || "0").replace(/^0+(?=\d)/, "");
  const neg = x.length < y.length || (x.length === y.length && x < y);
  const [big, small] = neg ? [y, x] : [x, y];
  let out = "", borrow = 0;
  for (let i = 0; i < big.length; i++) {
    let d = big.charCodeAt(big.length - 1 - i) - 48 - borrow;
    const s = i < small.length ? small.charCodeAt(small.length - 1 - i) - 48 : 0;
    d -= s;
    borrow = d < 0 ? 1 : 0;
    out = String(d < 0 ? d + 10 : d) + out;
  }
  out = out.replace(/^0+(?=\d)/, "");
  return neg && out !== "0" ? "-" + out : out;
}

function addEvent(ev, scales) {
  let list = $("ev-list").querySelector("tbody");
  if (!list) {
    const head = el("tr", {}, ["Seq", "Log time", "Type", "Status", "Accounts", "Posted changes"].map((h) =>
      el("th", { scope: "col" }, h)));
    const t = el("table", { id: "ev-table" }, el("caption", {}, "Events, newest first"), el("thead", {}, head),
      el("tbody"));
    $("ev-list").append(el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Events" }, t));
    list = t.querySelector("tbody");
  }
  const status = ev.status + (ev.reason && ev.reason !== "none" ? " (" + ev.reason + ")" : "");
  list.prepend(el("tr", { "data-seq": ev.seq }, el("td", {}, String(ev.seq)), el("td", {}, ev.log_time),
    el("td", {}, ev.type), el("td", {}, status), el("td", {}, (ev.accounts || []).join(", ")),
    el("td", {}, moves(ev, scales))));
  while (list.children.length > ROWS_MAX) list.lastElementChild.remove();
  received++;
  $("ev-count").textContent = received + " event(s) received, last seq " + ev.seq;
}
