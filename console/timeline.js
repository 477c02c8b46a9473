// The point-in-time view. The slider's stops are the moments the ledger
// changed (after event N); balances do not change between them.
// - auditor and admin: every stop 1..head; each shows every balance, the
//   chain head and the state digest after that event (GET
//   /v1/audit/state?seq=N), and the chain can be verified up to it (GET
//   /v1/audit/verify?seq=N);
// - user: the stops are the events it may see (GET /v1/events), and each
//   shows its own wallets' balances at that event's log time (GET
//   /v1/wallets/{id}/balance-at) and the chain hash the event carries.

import { get, ndjson, describe } from "./api.js";
import { formatAmount } from "./amounts.js";
import { $, el, clear, table } from "./dom.js";

const USER_PAGES_MAX = 20;     // pages of events read to find a user's stops
const USER_STOPS_MAX = 1000;   // the newest stops kept
const STATE_ROWS_MAX = 500;    // balance rows shown at one point
let stops = [];                // user: [{seq, log_time, chain}]
let generation = 0;            // answers for an older slider position are dropped

export function bind(ctx) {
  const slider = $("time-slider");
  slider.addEventListener("input", () => label());
  slider.addEventListener("change", () => load(ctx));
  $("verify").addEventListener("click", () => verify(ctx));
}

function auditor(ctx) {
  return ctx.me.role === "admin" || ctx.me.role === "auditor";
}

function label() {
  const v = Number.parseInt($("time-slider").value, 10);
  const s = stops[v];
  $("time-label").textContent = s ? "after event " + s.seq + " · " + s.log_time : "after event " + v;
}

export async function show(ctx) {
  clear($("time-head"));
  clear($("time-balances"));
  $("verify-result").textContent = "";
  const slider = $("time-slider");
  stops = [];
  if (auditor(ctx)) {
    const c = await get("/v1/audit/checkpoints");
    if (!c.ok) return ctx.error(describe(c));
    const head = c.body.head_seq;
    $("time-help").textContent = "Every balance of the ledger after any event, 1 to " + head +
      ". Use the arrow keys for one event at a time.";
    slider.min = head ? "1" : "0";
    slider.max = String(head);
    slider.value = String(head);
  } else {
    if (!(await userStops(ctx))) return;
    $("time-help").textContent = "Your wallets' balances after each of your " + stops.length + " events.";
    slider.min = "0";
    slider.max = String(Math.max(0, stops.length - 1));
    slider.value = slider.max;
  }
  label();
  await load(ctx);
}

// Reads the events a user may see, oldest first, following the cursor.
async function userStops(ctx) {
  let after = 0;
  for (let page = 0; page < USER_PAGES_MAX; page++) {
    const a = await get("/v1/events?limit=100&after_seq=" + after);
    if (!a.ok) return ctx.error(describe(a)), false;
    for (const ev of ndjson(a.text)) stops.push({ seq: ev.seq, log_time: ev.log_time, chain: ev.chain });
    const next = a.headers.get("X-Next-After-Seq");
    if (!next || next === String(after) || next === a.headers.get("Ledger-Seq")) break;
    after = next;
  }
  stops = stops.slice(-USER_STOPS_MAX);
  return true;
}

async function load(ctx) {
  const mine = ++generation;
  $("verify-result").textContent = "";
  $("verify-result").className = "verify";
  ctx.error("");
  const v = Number.parseInt($("time-slider").value, 10);
  if (auditor(ctx)) return loadState(ctx, v, mine);
  if (stops[v]) return loadUser(ctx, stops[v], mine);
  clear($("time-balances")).append(el("p", {}, "No events yet."));
}

function facts(pairs) {
  const dl = clear($("time-head"));
  for (const [k, v, cls] of pairs) dl.append(el("dt", {}, k), el("dd", { class: cls || null }, v));
}

const STATE_COLUMNS = [{ label: "Account" }, { label: "Owner" }, { label: "Status" }, { label: "Asset" },
  { label: "Posted", num: true }, { label: "Available", num: true }, { label: "Held", num: true },
  { label: "Incoming", num: true }];

async function loadState(ctx, seq, mine) {
  if (seq < 1) return clear($("time-balances")).append(el("p", {}, "The journal is empty."));
  ctx.status("Rebuilding the state after event " + seq + "…");
  const a = await get("/v1/audit/state?seq=" + seq);
  if (mine !== generation) return;
  if (!a.ok) return ctx.error(describe(a));
  const lines = ndjson(a.text);
  const state = lines.find((l) => l.record === "state") || {};
  $("time-label").textContent = "after event " + seq + " · " + state.log_time;
  facts([["Seq", String(state.seq)], ["Log time", state.log_time], ["Chain head", state.chain, "hash"],
    ["State digest", state.state_digest, "hash"]]);
  const balances = lines.filter((l) => l.record === "balance");
  const rows = balances.slice(0, STATE_ROWS_MAX).map((b) => [String(b.account), b.owner, b.status, b.asset,
    formatAmount(b.posted), formatAmount(b.available), formatAmount(b.held), formatAmount(b.incoming)]);
  const box = clear($("time-balances"));
  box.append(table("Every balance after event " + seq, STATE_COLUMNS, rows, { id: "time-table" }));
  if (balances.length > STATE_ROWS_MAX) box.append(el("p", { class: "meta" }, "First " + STATE_ROWS_MAX + " of " +
    balances.length + " balances; GET /v1/audit/state has them all."));
  ctx.status("State after event " + seq);
}

async function loadUser(ctx, stop, mine) {
  facts([["Seq", String(stop.seq)], ["Log time", stop.log_time], ["Chain head", stop.chain, "hash"],
    ["State digest", "for auditors (the whole ledger's state)"]]);
  const w = await get("/v1/wallets");
  if (mine !== generation) return;
  if (!w.ok) return ctx.error(describe(w));
  const rows = [];
  for (const wallet of w.body.wallets) {
    for (const b of wallet.balances) {
      const q = "?asset=" + encodeURIComponent(b.asset) + "&at=" + encodeURIComponent(stop.log_time);
      const a = await get("/v1/wallets/" + wallet.id + "/balance-at" + q);
      if (mine !== generation) return;
      if (!a.ok) return ctx.error(describe(a));
      rows.push([String(wallet.id), wallet.owner, wallet.status, b.asset, formatAmount(a.body.posted), "",
        formatAmount(a.body.held), formatAmount(a.body.incoming)]);
    }
  }
  clear($("time-balances")).append(table("Your balances after event " + stop.seq, STATE_COLUMNS, rows,
    { id: "time-table" }));
  ctx.status("Balances after event " + stop.seq);
}

async function verify(ctx) {
  const seq = $("time-slider").value;
  const out = $("verify-result");
  out.className = "verify";
  out.textContent = "Verifying seq 1 to " + seq + "…";
  $("verify").disabled = true;
  try {
    const a = await get("/v1/audit/verify?seq=" + encodeURIComponent(seq));
    if (!a.ok) {
      out.textContent = "Could not verify: " + describe(a);
      return;
    }
    const r = a.body;
    if (r.verified) {
      out.classList.add("ok");
      out.textContent = "Verified: " + r.events + " events, seq 1 to " + r.last_seq + ", " + r.checkpoints_checked +
        " checkpoint digest(s); head hash " + r.head_hash;
    } else {
      out.classList.add("bad");
      out.textContent = "NOT verified" + (r.bad_seq ? " at seq " + r.bad_seq : "") + ": " + r.problem;
    }
  } finally {
    $("verify").disabled = false;
  }
}
