#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis that the tests use answer; start
# them when they are installed but stopped, and say plainly what is missing.
set -u
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

postgres_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
wait_for() { for _ in $(seq 1 30); do "$1" && return 0; sleep 0.5; done; return 1; }

missing=()
if ! command -v pg_isready >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
  postgres_answers 2>/dev/null || missing+=("PostgreSQL (install the Debian package 'postgresql', or set DATABASE_URL to a running server)")
elif ! postgres_answers; then
  echo "PostgreSQL is installed but not answering on $PG_HOST:$PG_PORT: starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  wait_for postgres_answers || missing+=("PostgreSQL (installed, but it did not start; see its log in /var/log/postgresql)")
fi

if ! command -v redis-server >/dev/null; then
  redis_answers 2>/dev/null || missing+=("Redis (install the Debian package 'redis-server')")
elif ! redis_answers; then
  echo "Redis is installed but not answering on 127.0.0.1:$REDIS_PORT: starting it"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  wait_for redis_answers || missing+=("Redis (installed, but it did not start)")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "The tests need a real PostgreSQL and Redis. Missing:" >&2
  for what in "${missing[@]}"; do echo "  - $what" >&2; done
  exit 1
fi
echo "PostgreSQL and Redis answer."
