# Sourced by the HTTP benchmarks: starts a fresh ledgerd (WAL synced) with
# rate-limit quotas this one-principal load never reaches (the limiter still
# runs on every request, as in production) and opens and funds `wallets`
# wallets through /v1/batch.
#
# In:  build, work (a temporary directory), wallets; extra ledgerd flags as
#      arguments.
# Out: pid (ledgerd), port, url, TOKEN, and WALLET_FIRST, WALLET_COUNT, BATCH
#      exported for the wrk scripts.
start_funded_ledgerd() {
  "$build/tools/ledgerd" --dev --quiet --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
    --rate-limit commands:1000000:1000000:1 --rate-limit reads:1000000:1000000:1 "$@" \
    2> "$work/err.log" &
  pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port")
  TOKEN=$(sed -n 's/.*export TOKEN=//p' "$work/err.log")
  export TOKEN
  url="http://127.0.0.1:$port"

  local first="" start n body out
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
}
