#!/usr/bin/env bash
# HTTP load on loopback against a fresh ledgerd (WAL synced per batch):
#   1. single transfers, 64 connections (wrk, 2 threads)
#   2. transfers through /v1/batch, 1000 per request, 8 connections
# beside the engine-only figure from engine_bench (same machine, same run).
#
# usage: bench/http_bench.sh [duration_s] [wallets]
# Expects a built tree (scripts/build). The load generator shares the 2 cores
# with the server, so these are lower bounds for a separate client machine.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
wallets=${2:-1000}
build=build
work=$(mktemp -d /tmp/ledger-http-bench-XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

# The rate limiter runs on every request, as in production, with quotas this
# one-principal load never reaches (it would be refused at the defaults).
"$build/tools/ledgerd" --dev --quiet --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
  --rate-limit commands:1000000:1000000:1 --rate-limit reads:1000000:1000000:1 \
  2> "$work/err.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
TOKEN=$(sed -n 's/.*export TOKEN=//p' "$work/err.log")
export TOKEN
url="http://127.0.0.1:$port"

# Open and fund the wallets through the batch endpoint.
first=""
for ((start = 0; start < wallets; start += 500)); do
  n=$(( wallets - start < 500 ? wallets - start : 500 ))
  body=$(python3 -c "import json,sys; s,n=int(sys.argv[1]),int(sys.argv[2]); print(json.dumps({'commands':[{'type':'open_wallet','idempotency_key':f'open-{i}','owner':f'user{i}','assets':[{'asset':'USD'}]} for i in range(s,s+n)]}))" "$start" "$n")
  out=$(curl -sf -X POST "$url/v1/batch" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$body")
  [ -n "$first" ] || first=$(python3 -c "import json,sys; print(json.load(sys.stdin)['results'][0]['body']['wallet_id'])" <<< "$out")
done
for ((start = 0; start < wallets; start += 500)); do
  n=$(( wallets - start < 500 ? wallets - start : 500 ))
  body=$(python3 -c "import json,sys; s,n,f=int(sys.argv[1]),int(sys.argv[2]),int(sys.argv[3]); print(json.dumps({'commands':[{'type':'deposit','idempotency_key':f'fund-{i}','wallet_id':f+i,'asset':'USD','amount':'1000000.00','provider':'demo'} for i in range(s,s+n)]}))" "$start" "$n" "$first")
  curl -sf -X POST "$url/v1/batch" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$body" > /dev/null
done
export WALLET_FIRST=$first WALLET_COUNT=$wallets BATCH=1000

echo "http_bench: ledgerd on $url, $wallets funded wallets, ${duration}s per run, $(nproc) cores shared with wrk"
echo "--- single transfers, 64 connections"
wrk -t2 -c64 -d"${duration}s" --latency -s bench/wrk_transfer.lua "$url" | grep -E 'Requests/sec|latency_p|Non-2xx' || true
echo "--- batch endpoint, 1000 transfers per request, 8 connections"
wrk -t2 -c8 -d"${duration}s" -s bench/wrk_batch.lua "$url" | grep -E 'batch_requests|Non-2xx' || true
kill -TERM $pid
wait $pid || true
