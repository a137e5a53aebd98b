#!/usr/bin/env bash
# The long cluster crash test (npm run test:cluster-crash): a real redis-server on a free port in
# a temp dir, a generated file published while 3 consumers run (no shared disk: each is given a
# --journal path of its own, which consume accepts and does not use), and every 0.2-0.9 s one consumer (chosen at random) is killed with
# SIGKILL and started again. At the end `payrun accounts --wait`
# must equal `payrun FILE` byte for byte, with exactly one event per row and no event id twice.
#   ROWS=300000 KILLS=25 SEED=11 scripts/cluster-crash-test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${ROWS:-300000}
KILLS=${KILLS:-25}
SEED=${SEED:-11}
D=$(mktemp -d "${TMPDIR:-/tmp}/payrun-cluster-crash-XXXXXX")
P=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
R=redis://127.0.0.1:$P
declare -A pid
cleanup() {
  for o in "${!pid[@]}"; do kill -9 "${pid[$o]}" 2>/dev/null || true; done
  [ -n "${redis:-}" ] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
redis-server --port "$P" --bind 127.0.0.1 --dir "$D" --appendonly yes --save '' --logfile "$D/redis.log" &
redis=$!
until redis-cli -p "$P" ping >/dev/null 2>&1; do sleep 0.1; done
./bin/payrun generate -n "$ROWS" -c 3000 --seed "$SEED" -q "$D/tx.csv"
./bin/payrun "$D/tx.csv" -q > "$D/batch.csv"
./bin/payrun publish "$D/tx.csv" --redis "$R" -q &
publisher=$!
# Each consumer has its own private directory (a new, empty one on every start): nothing is shared but Redis.
starts=0
start() { starts=$((starts + 1)); ./bin/payrun consume --redis "$R" --journal "$D/disk-$1-$starts" --owner "$1" --lease-ms 900 2>> "$D/$1.log" & pid[$1]=$!; }
for o in a b c; do start "$o"; done
kills=0
for _ in $(seq 1 "$KILLS"); do
  sleep "0.$((RANDOM % 8 + 2))"
  o=$(printf 'a\nb\nc\n' | shuf -n1)
  if kill -9 "${pid[$o]}" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "${pid[$o]}" 2>/dev/null || true
  start "$o"
done
wait "$publisher"
./bin/payrun accounts --redis "$R" --wait --timeout 300 > "$D/cluster.csv"
for o in a b c; do kill -TERM "${pid[$o]}"; done
for o in a b c; do wait "${pid[$o]}"; done
pid=()
./bin/payrun events --redis "$R" > "$D/events.ndjson"
events=$(wc -l < "$D/events.ndjson")
twice=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$D/events.ndjson" | sort | uniq -d | wc -l)
takeovers=$(cat "$D"/*.log | grep '"partition_acquired"' | grep -vc '"transactions":0' || true)
echo "cluster crash test: $ROWS rows, $kills kills, $takeovers partitions rebuilt from Redis by a consumer with an empty disk; $events events, $twice ids twice"
if cmp -s "$D/batch.csv" "$D/cluster.csv" && [ "$events" -eq "$ROWS" ] && [ "$twice" -eq 0 ]; then
  echo "cluster crash test: accounts identical to payrun FILE, one event per row: ok"
else
  echo "cluster crash test: FAILED (accounts $(cmp -s "$D/batch.csv" "$D/cluster.csv" && echo identical || echo differ))" >&2
  exit 1
fi
