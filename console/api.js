// The API as the console uses it: the bearer token (kept in sessionStorage,
// so it dies with the tab), JSON requests, and problem+json errors turned
// into sentences people can read.

const TOKEN_KEY = "ledger.console.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(extra) {
  return Object.assign({ Authorization: "Bearer " + token() }, extra || {});
}

// GET `path`; resolves to {ok, status, body, text, headers}. Never throws
// for an HTTP error: the caller decides what a 404 means.
export async function get(path, options) {
  const opts = options || {};
  let response;
  try {
    response = await fetch(path, { headers: authHeaders(), signal: opts.signal, cache: "no-store" });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    return { ok: false, status: 0, body: null, text: "", headers: new Headers(), network: true };
  }
  const text = await response.text();
  let body = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json") && text) {
    try { body = JSON.parse(text); } catch (e) { body = null; }
  }
  return { ok: response.ok, status: response.status, body, text, headers: response.headers };
}

// NDJSON lines as objects (the audit state).
export function ndjson(text) {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

// One sentence for a failed answer: the problem's detail, the field it names.
export function describe(answer) {
  if (answer.network) return "The server could not be reached.";
  const p = answer.body || {};
  let text = p.title ? p.title + ": " : "HTTP " + answer.status + ": ";
  text += p.detail || answer.text || "no detail";
  if (p.field) text += " (field " + p.field + ")";
  if (answer.status === 404) text = "Refused or not found. " + text;
  if (answer.status === 403) text = "Refused. " + text;
  return text;
}
