// Drives the web console in Debian's headless Chromium (puppeteer-core)
// against a running ledgerd prepared by console_browser_test.cpp: alice's
// wallet holds 50.00 USD, bob's wallet is frozen. Prints "ok <step>" per
// step and exits 1 at the first failure. Every wait is on a page condition
// with a deadline, never a fixed delay.
//
// Environment: LEDGER_URL, CHROMIUM_PATH, ALICE_TOKEN, AUDITOR_TOKEN,
// ADMIN_TOKEN, ALICE_WALLET, BOB_WALLET; LEDGER_CONSOLE_SCREENSHOTS=DIR to
// save a screenshot of each page into DIR.
"use strict";
const path = require("path");
const puppeteer = require(path.join(__dirname, "..", "node_modules", "puppeteer-core"));

const env = (k) => {
  if (!process.env[k]) throw new Error("missing environment variable " + k);
  return process.env[k];
};
const URL_BASE = env("LEDGER_URL");
const ALICE_WALLET = env("ALICE_WALLET");
const BOB_WALLET = env("BOB_WALLET");
const SHOTS = process.env.LEDGER_CONSOLE_SCREENSHOTS || "";
const WAIT_MS = 15000;
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

// Waits until fn(...args) is true in the page; names what it waited for.
async function until(page, what, fn, ...args) {
  try {
    await page.waitForFunction(fn, { timeout: WAIT_MS, polling: "mutation" }, ...args);
  } catch (e) {
    const text = await page.evaluate(() => document.querySelector("main").innerText).catch(() => "");
    throw new Error("timed out waiting for " + what + "\n--- page text ---\n" + text.slice(0, 3000));
  }
}

function textOf(sel) {
  return (document.querySelector(sel) || {}).textContent || "";
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

async function signIn(page, token, who) {
  await page.type("#token", token);
  await page.keyboard.press("Enter");
  await until(page, "signed in as " + who, (w) => document.getElementById("who-text").textContent.includes(w), who);
}

async function signOut(page) {
  await page.click("#sign-out");
  await until(page, "the sign-in form", () => !document.getElementById("page-signin").hidden);
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

// The cell `col` of the row whose first cell is `first`, in table `sel`.
function cellOf(sel, first, col) {
  for (const tr of document.querySelectorAll(sel + " tbody tr")) {
    if (tr.cells[0] && tr.cells[0].textContent === first) return tr.cells[col].textContent;
  }
  return null;
}

async function transfer(amount) {
  const r = await fetch(URL_BASE + "/v1/transfers", {
    method: "POST",
    headers: { Authorization: "Bearer " + env("ALICE_TOKEN"), "Content-Type": "application/json",
      "Idempotency-Key": "console-test-" + amount },
    body: JSON.stringify({ from_wallet_id: Number(ALICE_WALLET), to_wallet_id: Number(BOB_WALLET), asset: "USD",
      amount }),
  });
  const body = await r.json();
  check(r.status === 201, "transfer answered 201, got " + r.status + " " + JSON.stringify(body));
  return body;
}

async function userSteps(page) {
  await signIn(page, env("ALICE_TOKEN"), "alice (user)");
  console.log("ok signed in");
  await until(page, "alice's wallet in the list", () => document.getElementById("wallets-list").textContent.includes("50.00"));
  await shot(page, "wallets");
  await page.click(`a[href="#/wallets/${ALICE_WALLET}"]`);
  await until(page, "the balance 50.00, live", () => textOf("#wallet-balance-table").includes("50.00") &&
    textOf("#wallet-live") === "live");
  console.log("ok balance shown");
  const t = await transfer("12.50");
  await until(page, "the balance 37.50 after the transfer", () => textOf("#wallet-balance-table").includes("37.50"));
  await until(page, "the transfer in the history", (id) => Boolean(document.querySelector(`a[href="#/transactions/${id}"]`)),
    String(t.transaction_id));
  console.log("ok live update");
  await shot(page, "wallet");
  await page.click(`a[href="#/transactions/${t.transaction_id}"]`);
  await until(page, "the transfer's postings", () => textOf("#tx-postings").includes("12.50"));
  console.log("ok transaction postings");
  await shot(page, "transaction");
  await go(page, "#/wallets/" + BOB_WALLET);
  await until(page, "the refusal of bob's wallet", () => textOf("#wallet-refused").includes("Refused or not found") &&
    !document.getElementById("error").hidden);
  check(!(await page.evaluate(() => textOf("#wallet-balances").includes("12.50"))), "no balance of bob's shown");
  console.log("ok refused other wallet");
  await page.click('a[data-page="time"]');
  await until(page, "alice's balance now (37.50)", (id) => cellOf("#time-table", id, 4) === "37.50", ALICE_WALLET);
  await page.focus("#time-slider");
  await page.keyboard.press("ArrowLeft");
  await until(page, "alice's balance before the transfer (50.00)", (id) => cellOf("#time-table", id, 4) === "50.00",
    ALICE_WALLET);
  console.log("ok user time slider");
  await signOut(page);
  return t;
}

async function auditorSteps(page, t) {
  await signIn(page, env("AUDITOR_TOKEN"), "audit (auditor)");
  await page.click('a[data-page="time"]');
  await until(page, "the state at the head", (id) => cellOf("#time-table", id, 4) === "37.50", ALICE_WALLET);
  const before = t.seq - 1;
  await page.focus("#time-slider");
  await page.keyboard.press("ArrowLeft");
  await until(page, "the state before the transfer", (id, seq) => cellOf("#time-table", id, 4) === "50.00" &&
    textOf("#time-label").startsWith("after event " + seq + " · ") &&
    /State digest[0-9a-f]{64}/.test(textOf("#time-head")), ALICE_WALLET, before);
  console.log("ok auditor time slider");
  await page.click("#verify");
  await until(page, "the chain verified up to seq " + before, (seq) =>
    document.getElementById("verify-result").classList.contains("ok") &&
    textOf("#verify-result").includes("seq 1 to " + seq + ","), before);
  console.log("ok verified");
  await shot(page, "time");
  await page.click('a[data-page="events"]');
  await page.type("#ev-after", "0");
  await page.click("#ev-start");
  await until(page, "every event up to the transfer in the stream", (seq) =>
    Boolean(document.querySelector(`#ev-table tr[data-seq="${seq}"]`)) && textOf("#ev-state") === "live", t.seq);
  console.log("ok events stream");
  await shot(page, "events");
  await page.click("#ev-stop");
  await signOut(page);
}

async function adminSteps(page) {
  await signIn(page, env("ADMIN_TOKEN"), "root (admin)");
  await page.click('a[data-page="admin"]');
  await until(page, "assets, fee schedules, frozen wallets and limits", (bob) =>
    textOf("#assets-table").includes("USD") && cellOf("#frozen-table", bob, 1) === "bob" &&
    textOf("#limits-table").includes("Overdraft") &&
    textOf("#fees-table").includes("2.90 %") && textOf("#fees-table").includes("10.00"), BOB_WALLET);
  console.log("ok admin pages");
  await shot(page, "admin");
  await page.setViewport({ width: 375, height: 740, deviceScaleFactor: 2 });
  await go(page, "#/wallets/" + ALICE_WALLET);
  await until(page, "the wallet on a phone screen", () => textOf("#wallet-balance-table").includes("37.50"));
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 375, "no sideways scrolling at 375 px (page is " + width + " px wide)");
  console.log("ok phone layout");
  await shot(page, "phone");
}

// Proves the two checks above can fail: an inline script injected now is
// blocked by the policy, and the violation reaches the console listener.
async function cspEnforced(page) {
  let timer;
  const seen = new Promise((resolve, reject) => {
    page.on("console", (m) => { if (m.text().startsWith("CSP violation: script-src")) resolve(); });
    timer = setTimeout(() => reject(new Error("no CSP violation reported for an inline script")), WAIT_MS);
  });
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "document.title = 'inline ran'";
    document.body.append(s);
  });
  try {
    await seen;
  } finally {
    clearTimeout(timer);
  }
  check((await page.title()) === "Ledger console", "the inline script did not run");
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: env("CHROMIUM_PATH"),
    headless: true,
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const errors = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 800 });
    // The API's refusal the test provokes (bob's wallet) is logged by
    // Chromium as a failed load: expected.
    // Anything else logged as an error, CSP violations included, fails.
    const expected = /^Failed to load resource: the server responded with a status of 404/;
    page.on("console", (m) => {
      if (m.type() === "error" && !expected.test(m.text())) errors.push("console: " + m.text());
    });
    page.on("pageerror", (e) => errors.push("page error: " + e.message));
    // The helpers the page conditions use, defined in the page (by the
    // DevTools protocol, which the page's CSP does not govern).
    await page.evaluateOnNewDocument(`window.textOf = ${textOf}; window.cellOf = ${cellOf};`);
    await page.evaluateOnNewDocument(() => {
      document.addEventListener("securitypolicyviolation", (e) =>
        console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));
    });
    const r = await page.goto(URL_BASE + "/console", { waitUntil: "load" });
    check(r.status() === 200, "GET /console is 200");
    check(r.headers()["content-security-policy"] === CSP, "the CSP header: " + r.headers()["content-security-policy"]);
    check(r.headers()["x-content-type-options"] === "nosniff", "nosniff");
    console.log("ok csp header");
    await until(page, "the sign-in form", () => !document.getElementById("page-signin").hidden);
    await shot(page, "signin");
    const t = await userSteps(page);
    await auditorSteps(page, t);
    await adminSteps(page);
    check(errors.length === 0, "no console errors or CSP violations:\n" + errors.join("\n"));
    console.log("ok no console errors");
    await cspEnforced(page);
    console.log("ok csp enforced");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error("FAILED: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
