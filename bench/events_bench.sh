#!/usr/bin/env bash
# Event streams under load, on loopback against a fresh ledgerd (WAL synced):
# transfers flow through /v1/batch (wrk, 1000 per request, 4 connections)
#   1. with no subscriber: the baseline commands/s
#   2. with 1 Server-Sent Events subscriber following every event
#   3. with N subscribers
# and, for 2 and 3, the events/s each subscriber received (curl -N, counting
# `id:` lines; events received while the load ran and in 2 s after it, over
# the load's duration), beside the commands/s of the same run and the events
# committed during it.
#
# usage: bench/events_bench.sh [duration_s] [subscribers] [wallets]
# Expects a built tree (scripts/build ledgerd). Load generator, subscribers
# and server share the machine's cores: these are lower bounds.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
subscribers=${2:-8}
wallets=${3:-1000}
build=build
work=$(mktemp -d /tmp/ledger-events-bench-XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

. bench/ledgerd_funded.sh
start_funded_ledgerd \
  --ops-listen 127.0.0.1:0 --ops-port-file "$work/ops-port" --events-subscribers-max 1000 --events-queue-max 8192 --snapshot-every 0

head_seq() {
  curl -s "http://127.0.0.1:$(cat "$work/ops-port")/readyz" | python3 -c "import json,sys; print(json.load(sys.stdin)['seq'])"
}

# One run: `subs` subscribers from the head for the run's length, with the load.
run() {
  local subs=$1 label=$2
  local i pids=()
  for ((i = 0; i < subs; i++)); do
    (curl -sN --max-time "$((duration + 2))" -H "Authorization: Bearer $TOKEN" "$url/v1/events/stream" 2>/dev/null || true) |
      (grep -c '^id: ' || true) > "$work/sub-$i.count" &
    pids+=($!)
  done
  sleep 0.5  # let the subscriptions open before the load starts
  local load before after
  before=$(head_seq)
  load=$(wrk -t1 -c4 -d"${duration}s" -s bench/wrk_batch.lua "$url" | grep -o 'transfers_per_s=[0-9]*' | cut -d= -f2)
  after=$(head_seq)
  for p in "${pids[@]}"; do wait "$p"; done
  local total=0 min=-1 c
  for ((i = 0; i < subs; i++)); do
    c=$(cat "$work/sub-$i.count")
    total=$((total + c))
    if [ "$min" -lt 0 ] || [ "$c" -lt "$min" ]; then min=$c; fi
  done
  if [ "$subs" -eq 0 ]; then
    printf '%-22s commands/s %8s\n' "$label" "$load"
  else
    printf '%-22s commands/s %8s  events/s per subscriber %8s (slowest %s)  all subscribers %8s  (each got %s of %s events)\n' \
      "$label" "$load" "$((total / subs / duration))" "$((min / duration))" "$((total / duration))" "$min" "$((after - before))"
  fi
}

echo "events_bench: ledgerd on $url, $wallets funded wallets, ${duration}s per run, $(nproc) cores shared with wrk and curl"
echo "load: $(uptime)"
run 0 "no subscriber"
rm -f "$work"/sub-*.count
run 1 "1 subscriber"
rm -f "$work"/sub-*.count
run "$subscribers" "$subscribers subscribers"
curl -s "http://127.0.0.1:$(cat "$work/ops-port")/metrics" | grep -E '^ledger_events_(sent|cutoffs)_total' || true
echo "load: $(uptime)"
kill -TERM $pid
wait $pid || true
