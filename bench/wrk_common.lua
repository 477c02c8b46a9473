-- Shared by the wrk scripts of bench/http_bench.sh: the environment (TOKEN,
-- WALLET_FIRST, WALLET_COUNT), a per-thread id and seed, and a random pair of
-- distinct wallets from the funded pool. Loaded with dofile, so it sets globals.
token = os.getenv("TOKEN")
first = tonumber(os.getenv("WALLET_FIRST"))
count = tonumber(os.getenv("WALLET_COUNT"))
counter = 0
thread_id = 0  -- set per thread by setup() (a global, so thread:set reaches it)
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(thread_id * (seed_multiplier or 7919))
end

function wallet_pair()
  local a = first + math.random(0, count - 1)
  local b = first + math.random(0, count - 1)
  if a == b then b = first + ((b - first + 1) % count) end
  return a, b
end
