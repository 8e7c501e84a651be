#!/usr/bin/env bash
# Schemathesis against the compiled API's /api/docs (SPEC §6): bad input never becomes a 5xx.
#
#   scripts/fuzz.sh quick   admin, learner and service, a bounded time each (part of `make test`)
#   scripts/fuzz.sh full    every role, longer, with the response-conformance checks (`make fuzz`)
#
# Runs on a database and namespace of its own (<test database>_fuzz derived from DATABASE_URL,
# namespace edulure-fuzz), buckets of its own, webhook dispatch off and rate limits out of the way;
# it starts the compiled API and a worker (npm run build first) on a free port and stops them after.
# Expects the stack to answer (scripts/dev.sh starts it). Exits non-zero on any failed check.
# Settings: FUZZ_SECONDS_PER_ROLE (time budget per role), FUZZ_SEED, SCHEMATHESIS (the binary),
# FUZZ_NAMESPACE (edulure-fuzz, provisioned by stack.sh) and FUZZ_BUCKET_PREFIX (edulure-fuzz).
# shellcheck disable=SC2317 # the cleanup function runs from a trap
set -euo pipefail

# shellcheck source=scripts/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh" # ROOT, RUN, LOGS, VENV, load_dotenv, info/warn/die
cd "$ROOT"
load_dotenv

MODE=${1:-quick}
case $MODE in
quick)
  ROLES=(admin learner service)
  CHECKS=not_a_server_error
  SECONDS_PER_ROLE=${FUZZ_SECONDS_PER_ROLE:-30}
  ;;
full)
  ROLES=(admin operator support finance instructor learner service)
  CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
  SECONDS_PER_ROLE=${FUZZ_SECONDS_PER_ROLE:-180}
  ;;
*) die "usage: scripts/fuzz.sh quick|full" ;;
esac
SCHEMATHESIS=${SCHEMATHESIS:-$VENV/bin/schemathesis}
[[ -x $SCHEMATHESIS ]] || die "no Schemathesis at $SCHEMATHESIS: run scripts/stack.sh install (scripts/tools-requirements.txt pins it)"

# postgres://u:p@h:5432/app_test?x -> postgres://u:p@h:5432/app_fuzz?x
fuzz_database_url() {
  local url=${DATABASE_URL:-postgres://edulure:edulure@127.0.0.1:5432/edulure}
  [[ $url =~ ^([a-zA-Z][a-zA-Z0-9+.-]*://[^/]+/)([^/?]+)(\?.*)?$ ]] || die "cannot derive a fuzz database from DATABASE_URL"
  echo "${BASH_REMATCH[1]}${BASH_REMATCH[2]%_test}_fuzz${BASH_REMATCH[3]}"
}

ensure_database() {
  local admin_url=$1 url=$2 name psql
  psql=$(command -v psql || echo "$PG_BIN/psql")
  name=${url##*/}
  name=${name%%\?*}
  "$psql" -X "$admin_url" -tAc "select 1 from pg_database where datname = '$name'" | grep -q 1 ||
    "$psql" -X "$admin_url" -qc "create database \"$name\""
}

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

APP_PIDS=()
stop_apps() {
  local pid
  for pid in "${APP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${APP_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_apps EXIT

mkdir -p "$LOGS" "$DATA/fuzz"
ADMIN_URL=${DATABASE_URL:-postgres://edulure:edulure@127.0.0.1:5432/edulure}
export DATABASE_URL
DATABASE_URL=$(fuzz_database_url)
ensure_database "$ADMIN_URL" "$DATABASE_URL"
PORT=$(free_port)
BUCKETS=${FUZZ_BUCKET_PREFIX:-edulure-fuzz}
export DATABASE_URL PORT HOST=127.0.0.1 NODE_ENV=test TEMPORAL_NAMESPACE=${FUZZ_NAMESPACE:-edulure-fuzz} \
  S3_BUCKET_UPLOADS=$BUCKETS-uploads S3_BUCKET_PRIVATE=$BUCKETS-private \
  S3_BUCKET_QUARANTINE=$BUCKETS-quarantine TELEMETRY_EXPORT_BUCKET=$BUCKETS-telemetry \
  WEBHOOK_DISPATCH_ENABLED=false WORKER_METRICS_PORT=0 RATE_LIMIT_BURST=1000000 RATE_LIMIT_PER_MINUTE=1000000 \
  TELEMETRY_EXPORT_ENABLED=false BILLING_RECONCILIATION_ENABLED=false DATA_RETENTION_ENABLED=false
info "fuzz: DATABASE_URL=$(redact_url "$DATABASE_URL") TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE port $PORT, $MODE: ${ROLES[*]}"

npm run --silent migrate
npm run --silent seed
npm run --silent buckets >/dev/null
npm run --silent schedules:sync

node dist/api/server.js >"$LOGS/fuzz-api.log" 2>&1 &
APP_PIDS+=("$!")
node dist/workers/main.js >"$LOGS/fuzz-worker.log" 2>&1 &
APP_PIDS+=("$!")
api=http://127.0.0.1:$PORT
for _ in $(seq 120); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$api/ready") == 200 ]] && break
  sleep 1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$api/ready") == 200 ]] || die "the fuzz API is not ready (see $LOGS/fuzz-api.log)"

# One worker: Python 3.11's ast.parse (Hypothesis describing its strategies) is not thread-safe
# ("AST constructor recursion depth mismatch"), and two cores are shared with the API anyway.
status=0
for role in "${ROLES[@]}"; do
  token=$(npm run --silent token -- --role "$role" --sub "fuzz-$role" | tail -n 1)
  info "fuzz: Schemathesis as $role (${SECONDS_PER_ROLE}s, checks $CHECKS)"
  # From .data/fuzz: Schemathesis keeps its cache (.schemathesis/) in the working directory.
  (cd "$DATA/fuzz" && "$SCHEMATHESIS" run "$api/api/docs" --url "$api" \
    --header "Authorization: Bearer $token" \
    --checks "$CHECKS" \
    --phases examples,coverage,fuzzing \
    --max-time "$SECONDS_PER_ROLE" \
    --workers 1 \
    --seed "${FUZZ_SEED:-17}" \
    --request-timeout 30 \
    --suppress-health-check all \
    --warnings off \
    --report junit --report-junit-path "$LOGS/schemathesis-$role.xml") \
    2>&1 | tee "$LOGS/schemathesis-$role.log" || status=1
done
exit "$status"
