-- wrk script: one transfer per request between random wallets of a funded
-- pool, each with a unique Idempotency-Key. Set by http_bench.sh through the
-- environment: TOKEN, WALLET_FIRST, WALLET_COUNT.
local counter = 0
thread_id = 0  -- set per thread by setup() (a global, so thread:set reaches it)
local token = os.getenv("TOKEN")
local first = tonumber(os.getenv("WALLET_FIRST"))
local count = tonumber(os.getenv("WALLET_COUNT"))
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(thread_id * 7919)
end

function request()
  counter = counter + 1
  local a = first + math.random(0, count - 1)
  local b = first + math.random(0, count - 1)
  if a == b then b = first + ((b - first + 1) % count) end
  local body = string.format('{"from_wallet_id":%d,"to_wallet_id":%d,"asset":"USD","amount":"0.01"}', a, b)
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("wrk-%d-%d-%d", os.time(), thread_id, counter),
  }
  return wrk.format("POST", "/v1/transfers", headers, body)
end


function done(summary, latency, requests)
  io.write(string.format("latency_p50_ms=%.2f latency_p99_ms=%.2f requests=%d errors_non2xx=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.errors.status))
end
