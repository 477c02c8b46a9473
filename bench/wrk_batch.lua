-- wrk script: POST /v1/batch with BATCH transfers per request between random
-- wallets of a funded pool. Environment: TOKEN, WALLET_FIRST, WALLET_COUNT, BATCH.
seed_multiplier = 104729
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_common.lua")
local batch = tonumber(os.getenv("BATCH"))

function request()
  counter = counter + 1
  local items = {}
  for i = 1, batch do
    local a, b = wallet_pair()
    items[i] = string.format(
      '{"type":"transfer","idempotency_key":"wb-%d-%d-%d-%d","from_wallet_id":%d,"to_wallet_id":%d,"asset":"USD","amount":"0.01"}',
      os.time(), thread_id, counter, i, a, b)
  end
  local body = '{"commands":[' .. table.concat(items, ",") .. ']}'
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/v1/batch", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("batch_requests=%d transfers=%d transfers_per_s=%.0f latency_p50_ms=%.2f latency_p99_ms=%.2f errors_non2xx=%d\n",
    summary.requests, summary.requests * batch, summary.requests * batch / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
