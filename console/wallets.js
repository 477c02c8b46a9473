// Wallets (GET /v1/wallets, /v1/wallets/{id}), a wallet's history
// (/v1/wallets/{id}/transactions) kept live by the event stream, and a
// transaction with its postings (/v1/transactions/{id}).

import { get, describe } from "./api.js";
import { formatAmount } from "./amounts.js";
import { $, el, clear, table, link, show } from "./dom.js";
import { EventFollower } from "./stream.js";

let follower = null;  // the open wallet's live stream
let historyCursor = null;
let openWallet = null;

const BALANCE_COLUMNS = [
  { label: "Asset" }, { label: "Total (posted)", num: true }, { label: "Available", num: true },
  { label: "Pending out (held)", num: true }, { label: "Pending in", num: true },
];

function balanceRows(wallet) {
  return wallet.balances.map((b) => [b.asset, formatAmount(b.posted), formatAmount(b.available),
    formatAmount(b.held), formatAmount(b.incoming)]);
}

export function leave() {
  if (follower) follower.stop();
  follower = null;
  openWallet = null;
}

export function bind(ctx) {
  $("owner-form").addEventListener("submit", (e) => {
    e.preventDefault();
    listWallets(ctx, $("owner").value.trim());
  });
  $("open-wallet-form").addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = "#/wallets/" + $("open-wallet-id").value.trim();
  });
  $("tx-form").addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = "#/transactions/" + $("tx-id").value.trim();
  });
  $("wallet-more").addEventListener("click", () => loadHistory(ctx, openWallet, false));
}

export async function showList(ctx) {
  clear($("wallets-list"));
  if (ctx.me.role === "user") return listWallets(ctx, "");
  $("wallets-list").append(el("p", { class: "meta" }, "Give an owner to list their wallets, or open a wallet by id."));
}

async function listWallets(ctx, owner) {
  const box = clear($("wallets-list"));
  ctx.error("");
  const q = owner ? "?owner=" + encodeURIComponent(owner) : "";
  const a = await get("/v1/wallets" + q);
  if (!a.ok) return ctx.error(describe(a));
  if (!a.body.wallets.length) return box.append(el("p", {}, "No wallets."));
  for (const w of a.body.wallets) {
    const title = el("h3", {}, link("#/wallets/" + w.id, "Wallet " + w.id), " · " + w.owner + " · " + w.status);
    box.append(title, table("Balances of wallet " + w.id, BALANCE_COLUMNS, balanceRows(w)));
  }
  ctx.status(a.body.wallets.length + " wallet(s)");
}

export async function showWallet(ctx, id) {
  openWallet = id;
  $("wallet-title").textContent = "Wallet " + id;
  clear($("wallet-balances"));
  clear($("wallet-history"));
  $("wallet-meta").textContent = "";
  show($("wallet-more"), false);
  setLive(false);
  if (!(await loadWallet(ctx, id))) return;
  await loadHistory(ctx, id, true);
  follower = new EventFollower("/v1/events/stream?wallet=" + encodeURIComponent(id), {
    onEvent: (ev) => onWalletEvent(ctx, id, ev),
    onState: (state, detail) => {
      setLive(state === "live");
      if (state === "refused") ctx.error("Live updates refused. " + detail);
    },
  });
  follower.start();
}

function setLive(on) {
  const b = $("wallet-live");
  b.textContent = on ? "live" : "not live";
  b.classList.toggle("on", on);
}

async function onWalletEvent(ctx, id, ev) {
  if (openWallet !== id) return;
  await loadWallet(ctx, id);
  await loadHistory(ctx, id, true, ev.seq);
  ctx.status("Updated after event " + ev.seq + " (" + ev.type + ")");
}

// Reads and shows the wallet; false (with the refusal shown) when refused.
async function loadWallet(ctx, id) {
  const a = await get("/v1/wallets/" + encodeURIComponent(id));
  if (openWallet !== id) return false;
  if (!a.ok) {
    clear($("wallet-balances")).append(el("p", { class: "error", id: "wallet-refused" }, describe(a)));
    ctx.error(describe(a));
    return false;
  }
  const w = a.body;
  $("wallet-meta").textContent = "Owner " + w.owner + " · status " + w.status + " · as of seq " +
    (a.headers.get("Ledger-Seq") || "?");
  clear($("wallet-balances")).append(table("Balances of wallet " + id, BALANCE_COLUMNS, balanceRows(w),
    { id: "wallet-balance-table" }));
  return true;
}

const HISTORY_COLUMNS = [
  { label: "Id" }, { label: "Type" }, { label: "Status" }, { label: "Asset" }, { label: "Amount", num: true },
  { label: "From" }, { label: "To" }, { label: "Time" },
];

// The newest page (fresh) or the next older one; min_seq waits until the
// read models have the event that announced a change.
async function loadHistory(ctx, id, fresh, minSeq) {
  let q = "?limit=20";
  if (!fresh && historyCursor) q += "&cursor=" + encodeURIComponent(historyCursor);
  if (minSeq) q += "&min_seq=" + encodeURIComponent(minSeq);
  const a = await get("/v1/wallets/" + encodeURIComponent(id) + "/transactions" + q);
  if (openWallet !== id) return;
  const box = $("wallet-history");
  if (!a.ok) return clear(box).append(el("p", { class: "error" }, "History: " + describe(a)));
  if (fresh) clear(box);
  const rows = a.body.transactions.map((t) => [link("#/transactions/" + t.transaction_id, String(t.transaction_id)),
    t.type, t.status, t.asset, formatAmount(t.amount), t.from_wallet_id || "", t.to_wallet_id || "", t.created_at]);
  if (!rows.length && fresh) box.append(el("p", {}, "No transactions yet."));
  else box.append(table("Transactions of wallet " + id + ", newest first", HISTORY_COLUMNS, rows));
  historyCursor = a.body.next_cursor || null;
  show($("wallet-more"), Boolean(historyCursor));
}

export async function showTransaction(ctx, id) {
  const box = clear($("tx-detail"));
  if (!id) return;
  $("tx-id").value = id;
  const a = await get("/v1/transactions/" + encodeURIComponent(id));
  if (!a.ok) return ctx.error(describe(a));
  const t = a.body;
  const facts = [["Type", t.type], ["Status", t.status], ["Asset", t.asset], ["Amount", formatAmount(t.amount)],
    ["Fee", formatAmount(t.fee)], ["From wallet", t.from_wallet_id], ["To wallet", t.to_wallet_id],
    ["Provider", t.provider], ["Reference", t.reference], ["Reverses / related", t.related_id],
    ["Reversed by", t.reversed_by], ["Created", t.created_at], ["Updated", t.updated_at]];
  const dl = el("dl", { class: "facts" });
  for (const [k, v] of facts) if (v !== null && v !== undefined && v !== "") dl.append(el("dt", {}, k), el("dd", {}, v));
  const cols = [{ label: "Seq" }, { label: "Leg" }, { label: "Wallet" }, { label: "Kind" }, { label: "Asset" },
    { label: "Amount", num: true }, { label: "Posted after", num: true }, { label: "Held after", num: true }];
  const rows = t.postings.map((p) => [p.seq, p.leg, p.wallet_id, p.kind, p.asset, formatAmount(p.amount),
    formatAmount(p.posted_after), formatAmount(p.held_after)]);
  box.append(el("h3", {}, "Transaction " + t.transaction_id), dl,
    table("Postings of transaction " + t.transaction_id, cols, rows, { id: "tx-postings" }));
  if (t.postings_truncated) box.append(el("p", { class: "meta" }, "More postings exist than are shown."));
}
