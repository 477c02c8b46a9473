// Admin pages: assets (GET /v1/assets), fee schedules (GET
// /v1/fee-schedules), frozen wallets
// and per-wallet limits. The wallets are found in the state at the head
// (GET /v1/audit/state: every account with owner and status), and each
// wallet's overdraft and daily limits read from GET /v1/wallets/{id}.

import { get, ndjson, describe } from "./api.js";
import { formatAmount, minorToMajor } from "./amounts.js";
import { $, el, clear, table, link } from "./dom.js";

const LIMIT_WALLETS_MAX = 50;  // wallets whose limits are read on one visit

export async function show(ctx) {
  await Promise.all([assets(ctx), fees(), wallets(ctx)]);
}

async function assets(ctx) {
  const box = clear($("admin-assets"));
  const a = await get("/v1/assets");
  if (!a.ok) return box.append(el("p", { class: "error" }, describe(a)));
  const cols = [{ label: "Code" }, { label: "Scale", num: true }, { label: "Smallest movement", num: true },
    { label: "Largest movement", num: true }];
  const rows = a.body.assets.map((x) => [x.code, String(x.scale), formatAmount(x.min_amount),
    formatAmount(x.max_amount)]);
  box.append(table("Registered assets", cols, rows, { id: "assets-table" }));
  ctx.scales = new Map(a.body.assets.map((x) => [x.code, x.scale]));
}

async function fees() {
  const box = clear($("admin-fees"));
  const a = await get("/v1/fee-schedules");
  if (!a.ok) return box.append(el("p", { class: "error" }, describe(a)));
  const list = a.body.fee_schedules || [];
  if (!list.length) return box.append(el("p", { id: "fees-empty" }, "No fee schedules."));
  const cols = [{ label: "Asset" }, { label: "Kind" }, { label: "Fixed", num: true }, { label: "Rate", num: true },
    { label: "Minimum", num: true }, { label: "Maximum", num: true }];
  // Basis points to a percentage by moving the decimal point: 290 -> "2.90 %".
  const rows = list.map((f) => [f.asset, f.kind, formatAmount(f.fixed),
    minorToMajor(String(f.basis_points), 2) + " %", formatAmount(f.minimum), formatAmount(f.maximum)]);
  box.append(table("Fee schedules", cols, rows, { id: "fees-table" }));
}

async function wallets(ctx) {
  const frozenBox = clear($("admin-frozen"));
  const limitsBox = clear($("admin-limits"));
  const c = await get("/v1/audit/checkpoints");
  if (!c.ok) return frozenBox.append(el("p", { class: "error" }, describe(c)));
  if (!c.body.head_seq) return frozenBox.append(el("p", {}, "The journal is empty."));
  const s = await get("/v1/audit/state?seq=" + c.body.head_seq);
  if (!s.ok) return frozenBox.append(el("p", { class: "error" }, describe(s)));
  const accounts = new Map();
  for (const line of ndjson(s.text))
    if (line.record === "balance" && line.kind === "user") accounts.set(line.account, line);
  const frozen = [...accounts.values()].filter((a) => a.status === "frozen");
  if (!frozen.length) frozenBox.append(el("p", {}, "No frozen wallets (as of seq " + c.body.head_seq + ")."));
  else frozenBox.append(table("Frozen wallets", [{ label: "Wallet" }, { label: "Owner" }],
    frozen.map((a) => [link("#/wallets/" + a.account, String(a.account)), a.owner]), { id: "frozen-table" }));
  await limits(ctx, [...accounts.keys()].slice(0, LIMIT_WALLETS_MAX), accounts.size, limitsBox);
}

async function limits(ctx, ids, total, box) {
  const rows = [];
  for (const id of ids) {
    const w = await get("/v1/wallets/" + id);
    if (!w.ok) continue;
    for (const b of w.body.balances)
      rows.push([link("#/wallets/" + id, String(id)), w.body.owner, b.asset, formatAmount(b.overdraft_limit),
        b.daily_debit_limit ? formatAmount(b.daily_debit_limit) : "none"]);
  }
  const cols = [{ label: "Wallet" }, { label: "Owner" }, { label: "Asset" }, { label: "Overdraft limit", num: true },
    { label: "Daily debit limit", num: true }];
  box.append(table("Per-wallet limits", cols, rows, { id: "limits-table" }));
  if (total > ids.length) box.append(el("p", { class: "meta" }, "The first " + ids.length + " of " + total +
    " wallets."));
}
