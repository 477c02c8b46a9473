// The console's shell: sign-in, who the token stands for (GET /v1/me: the
// API says the role; nothing is decoded here), the pages by URL fragment
// (#/wallets, #/wallets/4, #/transactions/9, #/events, #/time, #/admin),
// and the status and error lines every page reports to.

import { get, setToken, token, describe } from "./api.js";
import { $, show } from "./dom.js";
import * as wallets from "./wallets.js";
import * as events from "./events.js";
import * as timeline from "./timeline.js";
import * as admin from "./admin.js";

const ctx = {
  me: null,      // {subject, role} from GET /v1/me
  scales: null,  // asset code -> scale, from GET /v1/assets
  status(text) { $("status").textContent = text || ""; },
  error(text) {
    $("error").textContent = text || "";
    show($("error"), Boolean(text));
  },
  async assetScales() {
    if (this.scales) return this.scales;
    const a = await get("/v1/assets");
    this.scales = new Map();
    if (a.ok) for (const x of a.body.assets) this.scales.set(x.code, x.scale);
    return this.scales;
  },
};

const pages = {
  wallets: (arg) => (arg ? wallets.showWallet(ctx, arg) : wallets.showList(ctx)),
  transactions: (arg) => wallets.showTransaction(ctx, arg),
  events: () => events.show(ctx),
  time: () => timeline.show(ctx),
  admin: () => admin.show(ctx),
};

function pageOf(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/");
  const name = parts[0] in pages ? parts[0] : "wallets";
  return { name, arg: parts[1] || "" };
}

function showSection(id) {
  for (const s of document.querySelectorAll(".page")) show(s, s.id === id);
}

async function route() {
  events.leave();
  wallets.leave();
  ctx.error("");
  ctx.status("");
  if (!ctx.me) return showSection("page-signin");
  const { name, arg } = pageOf(location.hash);
  if (name === "admin" && ctx.me.role !== "admin") {
    showSection("");
    return ctx.error("Refused: the admin pages are for the admin role (you are " + ctx.me.role + ").");
  }
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const section = name === "wallets" && arg ? "page-wallet" : "page-" + name;
  showSection(section);
  await pages[name](arg);
}

// Elements marked data-role="admin auditor" are shown to those roles only.
function applyRole(role) {
  for (const node of document.querySelectorAll("[data-role]"))
    show(node, node.dataset.role.split(" ").includes(role));
}

async function signIn() {
  const me = await get("/v1/me");
  if (!me.ok) {
    setToken("");
    ctx.me = null;
    return ctx.error("Sign-in refused. " + describe(me));
  }
  if (!["user", "admin", "auditor"].includes(me.body.role)) {
    setToken("");
    return ctx.error("Sign-in refused: the console is for users, admins and auditors (this token's role is " +
      me.body.role + ").");
  }
  ctx.me = me.body;
  ctx.scales = null;
  $("who-text").textContent = "Signed in as " + me.body.subject + " (" + me.body.role + ")";
  show($("who"), true);
  show($("nav"), true);
  applyRole(me.body.role);
  await route();
  $("main").focus();
}

function signOut() {
  events.leave();
  wallets.leave();
  setToken("");
  ctx.me = null;
  show($("who"), false);
  show($("nav"), false);
  $("token").value = "";
  location.hash = "";
  route();
  $("token").focus();
}

function start() {
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("token").value.trim());
    $("token").value = "";
    signIn();
  });
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => route());
  wallets.bind(ctx);
  events.bind(ctx);
  timeline.bind(ctx);
  if (token()) signIn();
  else route();
}

start();
