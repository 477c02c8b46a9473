-- wrk script: one transfer per request between random wallets of a funded
-- pool, each with a unique Idempotency-Key. Set by http_bench.sh through the
-- environment: TOKEN, WALLET_FIRST, WALLET_COUNT.
seed_multiplier = 7919
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_common.lua")

function request()
  counter = counter + 1
  local a, b = wallet_pair()
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
