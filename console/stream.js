// The live event stream (GET /v1/events/stream, Server-Sent Events) read
// with fetch() and a ReadableStream: EventSource cannot send the
// Authorization header. The parser follows the SSE rules the server uses
// (id:, data:, event:, comment lines; a blank line ends an event). When the
// connection ends it reconnects with Last-Event-ID, so nothing is missed
// and nothing repeated, backing off up to a bound.

import { authHeaders } from "./api.js";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10000;
const LINE_MAX = 1 << 20;  // one event line may not grow past 1 MiB

// Splits text into SSE events; keeps the unfinished tail for the next chunk.
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.reset();
  }
  reset() {
    this.id = null;
    this.type = "message";
    this.data = [];
  }
  push(chunk) {
    this.buffer += chunk;
    let nl;
    while ((nl = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const skip = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + skip);
      this.line(line);
    }
    if (this.buffer.length > LINE_MAX) throw new Error("an event line is over 1 MiB");
  }
  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent({ id: this.id, type: this.type, data: this.data.join("\n") });
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "id") this.id = value;
    else if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
  }
}

// Follows `path` (with its filters) until stop(). Calls onEvent(event JSON)
// for each event, onState("live" | "reconnecting" | "stopped" | "refused",
// detail) as the connection changes.
export class EventFollower {
  constructor(path, handlers) {
    this.path = path;
    this.onEvent = handlers.onEvent;
    this.onState = handlers.onState || (() => {});
    this.lastId = handlers.lastId || null;
    this.controller = null;
    this.stopped = false;
    this.retryMs = RETRY_MIN_MS;
    this.timer = null;
  }
  start() {
    this.stopped = false;
    this.connect();
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.onState("stopped", "");
  }
  async connect() {
    this.controller = new AbortController();
    const headers = authHeaders({ Accept: "text/event-stream" });
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    try {
      const response = await fetch(this.path, { headers, signal: this.controller.signal, cache: "no-store" });
      if (!response.ok) return this.refused(response);
      this.onState("live", "");
      this.retryMs = RETRY_MIN_MS;
      await this.read(response.body);
    } catch (e) {
      if (this.stopped) return;
    }
    this.retry();
  }
  async refused(response) {
    let detail = "HTTP " + response.status;
    try {
      const p = await response.json();
      detail = (p.title || detail) + ": " + (p.detail || "") + (p.field ? " (field " + p.field + ")" : "");
    } catch (e) { /* not problem+json: the status says enough */ }
    if (response.status === 503 || response.status === 429) return this.retry(detail);
    this.stopped = true;
    this.onState("refused", detail);
  }
  async read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser((ev) => this.dispatch(ev));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(decoder.decode(value, { stream: true }));
    }
  }
  dispatch(ev) {
    if (ev.id) this.lastId = ev.id;
    if (ev.type === "cutoff") {
      const info = JSON.parse(ev.data);
      this.lastId = String(info.resume_after_seq);
      return;
    }
    if (ev.type !== "message") return;
    this.onEvent(JSON.parse(ev.data));
  }
  retry(detail) {
    if (this.stopped) return;
    this.onState("reconnecting", detail || "");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}
