#!/usr/bin/env bash
# `make up` and `make test` (SPEC §2): the embedded stack (scripts/stack.sh) and the platform on top of it,
# compiled (`npm run build`) and run with plain node on the pinned Node.js under .tools/node.
#
#   scripts/dev.sh up     start the stack, migrate, seed, run the API and a worker in the foreground;
#                         Ctrl-C (or SIGTERM) stops both, then the stack parts this command started
#   scripts/dev.sh test   start what is missing in the background, then typecheck, lint, migrate and run
#                         the whole suite against edulure_test / namespace edulure-test; stop what it
#                         started whatever the result; exit with the tests' status
#   scripts/dev.sh chaos  the same set-up, then only the fault suite (test/chaos) in full, CHAOS_FULL=1,
#                         and the table of its figures (.data/logs/chaos-results.jsonl) for RELIABILITY.md
#   scripts/dev.sh fuzz   the same set-up, then Schemathesis in full (scripts/fuzz.sh full): every role,
#                         more examples, the response-conformance checks; `test` runs its quick version
#
# Both expect `scripts/stack.sh install` to have run (the Makefile does that first).
# STACK=cluster (make up/test STACK=cluster): the real Temporal server with mTLS instead of the dev server
# (scripts/temporal-cluster.sh), two API processes (PORT and PORT+1) and two workers in namespace
# `default`; `make test` keeps its in-process workers in `edulure-test` and runs the cluster's own tests.
# shellcheck disable=SC2317 # the cleanup functions run from traps
set -euo pipefail

# shellcheck source=scripts/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh" # ROOT, RUN, VENV, load_dotenv, owned_pid, info/warn/die
cd "$ROOT"
load_dotenv # like the platform: .env is read, the real environment wins

STARTED="" # file listing the stack parts this invocation started (see `stack.sh start --record`)

step() { printf '\n==> %s\n' "$*"; }

start_stack() {
  mkdir -p "$RUN" "$LOGS"
  STARTED=$(mktemp "$RUN/started.XXXXXX")
  "$ROOT/scripts/stack.sh" start --record "$STARTED"
  if cluster_mode; then cluster_client_env; fi # TEMPORAL_ADDRESS and the mTLS client settings, for everything below
}

# Stops the stack parts this invocation started, by pid: a part that crashed and was started again by
# someone else since (another `make up`, the fault suite) is left alone.
stop_started_parts() {
  [[ -n $STARTED && -f $STARTED ]] || return 0
  local parts=() part pid
  while read -r part pid; do
    [[ -n $pid && $(owned_pid "$part" || true) == "$pid" ]] && parts+=("$part")
  done <"$STARTED"
  if ((${#parts[@]})); then
    info "stopping what this command started: ${parts[*]}"
    "$ROOT/scripts/stack.sh" stop "${parts[@]}" || warn "could not stop ${parts[*]}"
  fi
  rm -f "$STARTED"
}

# ======================================================================================================
# make up
# ======================================================================================================
api_url() {
  local host=${HOST:-127.0.0.1}
  [[ $host == 0.0.0.0 || $host == :: ]] && host=127.0.0.1
  echo "${PUBLIC_API_URL:-http://$host:${PORT:-8080}}"
}

STARTED_APPS=() # "<app> <pid>" for the API and worker this invocation started

# Runs `npm run SCRIPT` (default NAME) in its own session (so a Ctrl-C reaches it only through us, once),
# output prefixed, with the environment plus VAR=value arguments.
start_app() {
  local name=$1 script=${2:-$1}
  setsid env "${@:3}" npm run "$script" </dev/null > >(
    trap '' INT TERM # keep printing the app's shutdown logs after a Ctrl-C
    exec sed -u "s/^/[$name] /"
  ) 2>&1 &
  local pid=$! i
  # Until it execs, the pid is a fork of this script: owned_pid would take it for a stale pid file.
  for ((i = 0; i < 100; i++)); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "npm run $script" && break
    sleep 0.1
  done
  echo "$pid" >"$(pidfile "$name")"
  STARTED_APPS+=("$name $pid")
}

# Stops the API and worker this invocation started (by pid), never those of another `make up`.
stop_started_apps() {
  local entry apps=()
  for entry in "${STARTED_APPS[@]}"; do
    [[ $(owned_pid "${entry%% *}" || true) == "${entry#* }" ]] && apps+=("${entry%% *}")
  done
  ((${#apps[@]} == 0)) || "$ROOT/scripts/stack.sh" stop "${apps[@]}" || true
}

app_running() { owned_pid "$1" >/dev/null; }

# Still running, by the pid start_app recorded: during start-up npm rewrites its command line (its
# title), which owned_pid could catch half-written and take for a stale pid file.
started_app_alive() {
  local entry
  for entry in "${STARTED_APPS[@]}"; do
    [[ ${entry%% *} == "$1" ]] && alive "${entry#* }" && return 0
  done
  return 1
}

second_api_port() { echo $((${PORT:-8080} + 1)); }

# The API and a worker, and with STACK=cluster a second of each (horizontal scale: same database, cluster
# and task queues). ENV... (VAR=value) is the apps' environment on top of ours.
start_apps() {
  start_app api api "$@"
  start_app worker worker "$@"
  if cluster_mode; then
    start_app api2 api "$@" PORT="$(second_api_port)"
    start_app worker2 worker "$@" WORKER_METRICS_PORT=$((${WORKER_METRICS_PORT:-9464} + 1))
  fi
}

# The /ready URL of every API process started by start_apps.
api_ready_urls() {
  echo "$(api_url)/ready"
  if cluster_mode; then echo "http://127.0.0.1:$(second_api_port)/ready"; fi
}

wait_until_ready() {
  local url=$1 body started=$SECONDS next_note=$((SECONDS + 30))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$url") == 200 ]]; do
    started_app_alive api || die "the API exited before $url answered 200 (see its output above)"
    started_app_alive worker || die "the worker exited during start-up (see its output above)"
    if ((SECONDS >= next_note)); then
      body=$(curl -s --max-time 3 "$url" || true)
      info "still waiting for $url after $((SECONDS - started))s: ${body:-no answer}"
      next_note=$((SECONDS + 30))
    fi
    sleep 1
  done
}

print_banner() {
  local api=$1 ui=${TEMPORAL_UI_URL:-http://127.0.0.1:8233} token
  token=$(npm run --silent token -- --role admin --sub admin 2>/dev/null | tail -n 1) || token=""
  [[ -n $token ]] || token="(npm run token failed; try: npm run token -- --role admin --sub admin)"
  cat <<EOF

  Edulure Flow is up.
    API           $api   (OpenAPI: $api/api/docs)$(if cluster_mode; then printf '\n    second API    http://127.0.0.1:%s (STACK=cluster: same database and cluster)' "$(second_api_port)"; fi)
    Temporal UI   $ui
    Admin token   $token

    curl -s -H "Authorization: Bearer $token" '$api/api/v1/runs?limit=5'

  Ctrl-C stops the API, the worker and the stack parts this command started (make down from elsewhere).

EOF
}

# Orderly shutdown: the API and worker get SIGTERM once (they drain), then the stack parts we started.
up_cleanup() {
  local status=$?
  trap - EXIT
  trap '' INT TERM
  printf '\n'
  info "shutting down"
  stop_started_apps
  stop_started_parts
  exit "$status"
}

cmd_up() {
  trap up_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  app_running api && die "an API started by 'make up' is already running (pid $(owned_pid api)); stop it with 'make down'"
  step "npm run build (compiled JavaScript in dist/, the workflow bundle)"
  npm run build
  start_stack
  step "npm run migrate"
  npm run migrate
  step "npm run seed"
  npm run seed
  step "npm run schedules:sync"
  npm run schedules:sync
  step "API and worker (Ctrl-C stops everything)"
  start_apps
  local api url
  api=$(api_url)
  for url in $(api_ready_urls); do wait_until_ready "$url"; done
  print_banner "$api"
  local status=0
  wait -n || status=$?
  if [[ ! -f $(pidfile api) || ! -f $(pidfile worker) ]]; then
    info "stopped from elsewhere (make down)"
    exit 0
  fi
  app_running api || warn "the API exited (status $status)"
  app_running worker || warn "the worker exited (status $status)"
  exit "$((status ? status : 1))"
}

# ======================================================================================================
# make test
# ======================================================================================================

# postgres://u:p@h:5432/app?x -> postgres://u:p@h:5432/app_test?x (the local default when unset).
test_database_url() {
  local url=${DATABASE_URL:-}
  if [[ -z $url ]]; then
    echo "postgres://edulure:edulure@127.0.0.1:5432/edulure_test"
  elif [[ $url =~ ^([a-zA-Z][a-zA-Z0-9+.-]*://[^/]+/)([^/?]+)(\?.*)?$ ]]; then
    local name=${BASH_REMATCH[2]}
    [[ $name == *_test ]] || name=${name}_test
    echo "${BASH_REMATCH[1]}$name${BASH_REMATCH[3]}"
  else
    die "cannot derive a test database from DATABASE_URL (it names no database): set DATABASE_URL with one"
  fi
}

# With a user-set DATABASE_URL the *_test database may not exist yet: create it when the role may.
ensure_test_database() {
  local url=${DATABASE_URL:-} test_url=$1 name psql
  [[ -n $url && $url != "$test_url" ]] || return 0
  psql=$(command -v psql || echo "$PG_BIN/psql")
  name=${test_url##*/}
  name=${name%%\?*}
  if ! "$psql" -X "$url" -tAc "select 1 from pg_database where datname = '$name'" 2>/dev/null | grep -q 1; then
    info "creating database $name"
    "$psql" -X "$url" -qc "create database \"$name\"" || warn "could not create database $name; migrations will tell"
  fi
}

test_cleanup() {
  local status=$?
  trap - EXIT
  trap '' INT TERM
  ((${#STARTED_APPS[@]} == 0)) || stop_started_apps
  stop_started_parts
  exit "$status"
}

# What `make test` and `make chaos` share: the stack started in the background (stopped on exit), the
# test database and the suite's environment.
prepare_test_run() {
  trap test_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_stack
  APP_DATABASE_URL=${DATABASE_URL:-postgres://edulure:edulure@127.0.0.1:5432/edulure}

  local test_url
  test_url=$(test_database_url)
  ensure_test_database "$test_url"
  export DATABASE_URL=$test_url TEMPORAL_NAMESPACE=edulure-test NODE_ENV=test
  # The fault suite restarts the parts it crashes through the stack runner: recorded here, they are
  # stopped at the end like the parts this command started (test/support/stackParts.ts).
  export STACK_RECORD_FILE=$STARTED
  # Schedules are registered paused in tests (npm run schedules:sync below): tests trigger what they
  # need, and no cron run lands in the middle of another test.
  export TELEMETRY_EXPORT_ENABLED=false BILLING_RECONCILIATION_ENABLED=false DATA_RETENTION_ENABLED=false
  info "DATABASE_URL=$(redact_url "$DATABASE_URL") TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE NODE_ENV=$NODE_ENV"
}

cmd_test() {
  prepare_test_run

  # Typecheck and lint failures fail the run too, but the suite still runs so one CI run shows everything.
  local lock=0 typecheck=0 lint=0 build=0 tests=0 fuzz=0
  step "scripts/check-lock.sh (the lock installs as committed on a fresh machine)"
  "$ROOT/scripts/check-lock.sh" || lock=$?
  step "npm run typecheck"
  npm run typecheck || typecheck=$?
  step "npm run lint"
  npm run lint || lint=$?
  step "npm run build"
  npm run build || build=$?
  step "npm run migrate"
  npm run migrate
  step "npm run schedules:sync"
  npm run schedules:sync
  if cluster_mode; then start_cluster_apps; fi
  step "npm test"
  npm test 2>&1 | tee "$LOGS/test.log" || tests=$?
  summarize_tests "$LOGS/test.log"
  step "Schemathesis against /api/docs as admin, learner and service: no response >= 500 (scripts/fuzz.sh quick)"
  "$ROOT/scripts/fuzz.sh" quick || fuzz=$?

  printf '\n'
  info "lock: $(verdict "$lock"), typecheck: $(verdict "$typecheck"), lint: $(verdict "$lint"), build: $(verdict "$build"), tests: $(verdict "$tests"), fuzz: $(verdict "$fuzz")"
  ((tests != 0)) && exit "$tests"
  ((fuzz != 0)) && exit "$fuzz"
  ((lock != 0)) && exit "$lock"
  ((build != 0)) && exit "$build"
  ((typecheck != 0)) && exit "$typecheck"
  exit "$lint"
}

APP_DATABASE_URL="" # the database of the API and worker processes (make test: the suite's is DATABASE_URL)

# STACK=cluster: the platform as deployed, two APIs and two workers in namespace `default` on the app
# database, for the cluster's own tests (test/integration/cluster.test.ts); stopped at the end.
start_cluster_apps() {
  step "STACK=cluster: two API processes and two workers in namespace default"
  DATABASE_URL=$APP_DATABASE_URL npm run migrate
  start_apps DATABASE_URL="$APP_DATABASE_URL" TEMPORAL_NAMESPACE=default NODE_ENV=development LOG_LEVEL=warn
  local url urls=()
  for url in $(api_ready_urls); do
    wait_until_ready "$url"
    urls+=("${url%/ready}")
  done
  export CLUSTER_API_URLS="${urls[*]}"
  export TEMPORAL_SQL_URL="${APP_DATABASE_URL%/*}/${TEMPORAL_SQL_DATABASE:-temporal}"
}

# ======================================================================================================
# make chaos: the fault suite in full (test/chaos with CHAOS_FULL=1), then its figures as a table
# ======================================================================================================
cmd_chaos() {
  prepare_test_run
  local results=$LOGS/chaos-results.jsonl tests=0
  export CHAOS_RESULTS_FILE=$results CHAOS_FULL=1
  rm -f "$results"
  step "npm run build"
  npm run build
  step "npm run migrate"
  npm run migrate
  step "npm run schedules:sync"
  npm run schedules:sync
  step "the fault suite: test/chaos, every process under every fault"
  npx mocha --no-config --require tsx/cjs --require test/support/hooks.ts --extension ts --timeout 120000 --exit \
    'test/chaos/**/*.test.ts' 2>&1 | tee "$LOGS/chaos.log" || tests=$?
  summarize_tests "$LOGS/chaos.log"
  step "figures (RELIABILITY.md)"
  if [[ -s $results ]]; then npm run -s chaos:table "$results"; else warn "no figures in $results"; fi
  exit "$tests"
}

# ======================================================================================================
# make fuzz: Schemathesis in full (every role, more examples, the response-conformance checks)
# ======================================================================================================
cmd_fuzz() {
  prepare_test_run
  step "npm run build"
  npm run build
  step "Schemathesis against /api/docs as every role (scripts/fuzz.sh full)"
  "$ROOT/scripts/fuzz.sh" full
}

# The number before "<word>" in mocha's closing lines (0 when absent).
mocha_count() { grep -Eo "^ +[0-9]+ $1" "$2" | grep -Eo '[0-9]+' | tail -n 1 | grep . || echo 0; }

# Mocha's closing counts as one plain line: `tests: N passed, N failed, N skipped`.
summarize_tests() {
  printf 'tests: %s passed, %s failed, %s skipped\n' "$(mocha_count passing "$1")" "$(mocha_count failing "$1")" "$(mocha_count pending "$1")"
}

verdict() { if (($1 == 0)); then echo ok; else echo "failed ($1)"; fi; }

case ${1:-} in
up) cmd_up ;;
test) cmd_test ;;
chaos) cmd_chaos ;;
fuzz) cmd_fuzz ;;
*)
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
