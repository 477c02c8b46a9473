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

. bench/ledgerd_funded.sh
start_funded_ledgerd

echo "http_bench: ledgerd on $url, $wallets funded wallets, ${duration}s per run, $(nproc) cores shared with wrk"
echo "--- single transfers, 64 connections"
wrk -t2 -c64 -d"${duration}s" --latency -s bench/wrk_transfer.lua "$url" | grep -E 'Requests/sec|latency_p|Non-2xx' || true
echo "--- batch endpoint, 1000 transfers per request, 8 connections"
wrk -t2 -c8 -d"${duration}s" -s bench/wrk_batch.lua "$url" | grep -E 'batch_requests|Non-2xx' || true
kill -TERM $pid
wait $pid || true
