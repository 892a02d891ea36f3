#!/usr/bin/env bash
# Runs chatbench against chatd started here, on loopback ports only, and
# stops everything it started when it ends (or is interrupted).
#
#   BENCH_DB=postgres (default): two chatd nodes sharing a fresh PostgreSQL
#     database (created with psql, dropped afterwards) and Redis database
#     $BENCH_REDIS_DB under a key prefix of the run's own (removed afterwards).
#   BENCH_DB=sqlite: one node on the embedded defaults (SQLite file and
#     in-process Redis), in a temporary directory.
#
# Arguments go to chatbench; with none, a short run of every scenario
# (about two minutes). Examples:
#   cmd/chatbench/run.sh
#   cmd/chatbench/run.sh -scenarios conv -chats 1000 -rate 5000 -duration 20
#   BENCH_DB=sqlite cmd/chatbench/run.sh -scenarios conv -chats 500 -rate 2000 -duration 20 -p99-goal 25ms
set -euo pipefail
cd "$(dirname "$0")/../.."

CHATD=${CHATD:-bin/chatd}
CHATBENCH=${CHATBENCH:-bin/chatbench}
BENCH_DB=${BENCH_DB:-postgres}
PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
REDIS_HOST=${BENCH_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${BENCH_REDIS_PORT:-6379}
REDIS_DB=${BENCH_REDIS_DB:-8}
PORT1=${BENCH_PORT1:-18081}
PORT2=${BENCH_PORT2:-18082}
OUT=${BENCH_OUT:-bin/bench}
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=bench-password

RUN=$(date +%s)$$
DBNAME=chatd_bench_$RUN
PREFIX="{chatd-bench-$RUN}:"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
PIDS=()

for bin in "$CHATD" "$CHATBENCH"; do
	[ -x "$bin" ] || { echo "run.sh: $bin missing: run 'make build' and 'go build -o bin/chatbench ./cmd/chatbench' first" >&2; exit 1; }
done
CHATD=$(cd "$(dirname "$CHATD")" && pwd)/$(basename "$CHATD")

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$BENCH_DB" = postgres ]; then
		psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qtAc "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1 || true
		redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" --scan --pattern "$PREFIX*" |
			xargs -r -n 500 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" del >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every benchmark socket comes from 127.0.0.1: the per-address limits (500
# frames/s, 1000 sockets per node by default) would measure the limiter,
# not the server.
export CHAT_RATE_IP_PER_SEC=1000000 CHAT_RATE_CONN_PER_SEC=100000 CHAT_CONNS_PER_IP=100000
export CHAT_ADMIN_EMAIL=$ADMIN_EMAIL CHAT_ADMIN_PASSWORD=$ADMIN_PASSWORD CHAT_LOG_LEVEL=warn
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# start NAME PORT: runs a node in the background, waits until it is ready.
start() {
	local name=$1 port=$2
	(cd "$WORK" && CHAT_ADDR=127.0.0.1:$port exec "$CHATD" serve) >"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 150); do
		if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "run.sh: $name exited:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
		sleep 0.2
	done
	echo "run.sh: $name not ready after 30s" >&2
	exit 1
}

echo "machine: $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB, $(go version 2>/dev/null | awk '{print $3}')" >&2
URLS=()
if [ "$BENCH_DB" = postgres ]; then
	echo "PostgreSQL: $(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qtAc 'SHOW server_version'), Redis: $(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info server | tr -d '\r' | awk -F: '/^redis_version/{print $2}')" >&2
	psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qtAc "CREATE DATABASE $DBNAME" >/dev/null
	export CHAT_DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$DBNAME?sslmode=disable"
	export CHAT_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB" CHAT_REDIS_PREFIX=$PREFIX
	start chatd1 "$PORT1" # migrates and makes the admin before the second node starts
	start chatd2 "$PORT2"
	URLS=(-url "http://127.0.0.1:$PORT1" -url2 "http://127.0.0.1:$PORT2")
elif [ "$BENCH_DB" = sqlite ]; then
	unset CHAT_DATABASE_URL CHAT_REDIS_URL
	start chatd1 "$PORT1"
	URLS=(-url "http://127.0.0.1:$PORT1")
else
	echo "run.sh: BENCH_DB must be postgres or sqlite" >&2
	exit 2
fi

if [ $# -eq 0 ]; then
	set -- -idle 1000 -storm 200 -chats 200 -rate 1000 -duration 5 -reconnect 100 \
		-saturate -saturate-start 1000 -saturate-step 2 -saturate-max 16000 -timeout 5m
fi
status=0
"$CHATBENCH" "${URLS[@]}" -admin-email "$ADMIN_EMAIL" -admin-password "$ADMIN_PASSWORD" -json "$OUT/results.json" "$@" || status=$?
# The nodes' own view of the run (assignment latency, commit sizes, ...).
n=1
for port in "$PORT1" "$PORT2"; do
	curl -fsS "http://127.0.0.1:$port/metrics" >"$OUT/chatd$n.metrics" 2>/dev/null || rm -f "$OUT/chatd$n.metrics"
	n=$((n + 1))
done
exit $status
