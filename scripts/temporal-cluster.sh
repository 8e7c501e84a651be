# The production engine without Docker (SPEC §2, `STACK=cluster`): sourced by scripts/stack.sh, which
# runs it as its `temporal` part instead of the dev server.
#
#   server  go.temporal.io/server, all four services in one process, on the stack's Postgres
#           (databases temporal + temporal_visibility owned by the edulure role, schemas set up by the
#           SQL tool of the same module), several history shards, SQL visibility, mTLS on the frontend
#   ui      github.com/temporalio/ui-server/v2 on the UI port, talking mTLS to the frontend, write
#           actions off (privileged actions go through the API's roles and audit trail)
#
# Everything is pinned and cached under .tools/temporal-cluster (built once with `go install`, ~6 min on
# 2 cores); state (config, certificates) lives in .data/temporal-cluster. Ports follow TEMPORAL_PORT: the
# frontend on it, history +1, matching +2, worker +6, HTTP +10, membership -300/-299/-298/-294.
# shellcheck shell=bash

CLUSTER_SERVER_MODULE=go.temporal.io/server
CLUSTER_SERVER_VERSION=v1.32.0 # the dev server's server version (`temporal version`: Server 1.32.0)
CLUSTER_UI_MODULE=github.com/temporalio/ui-server/v2
CLUSTER_UI_VERSION=v2.54.1 # the dev server's UI version (UI 2.54.1)
CLUSTER_TOOLS=$TOOLS/temporal-cluster
CLUSTER_SERVER_BIN=$CLUSTER_TOOLS/server-$CLUSTER_SERVER_VERSION/server
CLUSTER_SQL_TOOL=$CLUSTER_TOOLS/server-$CLUSTER_SERVER_VERSION/sql
CLUSTER_UI_BIN=$CLUSTER_TOOLS/ui-server-$CLUSTER_UI_VERSION/server
CLUSTER_GO_MODCACHE=$TOOLS/go/mod # the server's SQL schemas are read from its module here
CLUSTER_GO_CACHE=$TOOLS/go/cache
CLUSTER_DIR=$DATA/temporal-cluster
CLUSTER_TLS=$CLUSTER_DIR/tls
CLUSTER_HISTORY_SHARDS=8 # fixed for the life of the databases: changing it needs new ones
CLUSTER_SQL_DATABASE=${TEMPORAL_SQL_DATABASE:-temporal} # visibility: <name>_visibility

cluster_mode() { [[ ${STACK:-embedded} == cluster ]]; }

check_stack_mode() {
  [[ ${STACK:-embedded} == embedded || ${STACK:-} == cluster ]] ||
    die "STACK must be 'embedded' (the default) or 'cluster' (got '${STACK}')"
}

# ---- install: pinned go installs, cached ----------------------------------------------------------

cluster_go() {
  local go
  go=$(command -v go || true)
  [[ -n $go ]] || { [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go; }
  [[ -n $go ]] || die "Go is required to build the Temporal server (STACK=cluster) and is not on PATH"
  GOMODCACHE=$CLUSTER_GO_MODCACHE GOCACHE=$CLUSTER_GO_CACHE GOFLAGS=-modcacherw "$go" "$@"
}

# Installs MODULE/PATH@VERSION into DIR unless DIR/NAME was built from exactly that module version.
cluster_go_install() {
  local package=$1 version=$2 dir=$3 name=$4
  if [[ -x $dir/$name && $(cluster_go version -m "$dir/$name" 2>/dev/null | awk '$1 == "mod" { print $3; exit }') == "$version" ]]; then
    return 0
  fi
  info "go install $package@$version (the first build takes about 6 minutes on 2 cores)"
  mkdir -p "$dir"
  GOBIN=$dir cluster_go install "$package@$version" || die "go install $package@$version failed"
}

cluster_install() {
  cluster_go_install "$CLUSTER_SERVER_MODULE/cmd/server" "$CLUSTER_SERVER_VERSION" "${CLUSTER_SERVER_BIN%/*}" server
  cluster_go_install "$CLUSTER_SERVER_MODULE/cmd/tools/sql" "$CLUSTER_SERVER_VERSION" "${CLUSTER_SQL_TOOL%/*}" sql
  cluster_go_install "$CLUSTER_UI_MODULE/cmd/server" "$CLUSTER_UI_VERSION" "${CLUSTER_UI_BIN%/*}" server
  # The schemas ship in the module; `go install` leaves it in the module cache, but check anyway.
  [[ -d $(cluster_schema_dir) ]] || cluster_go mod download "$CLUSTER_SERVER_MODULE@$CLUSTER_SERVER_VERSION" ||
    die "could not download $CLUSTER_SERVER_MODULE@$CLUSTER_SERVER_VERSION (its SQL schemas)"
}

cluster_installed() { [[ -x $CLUSTER_SERVER_BIN && -x $CLUSTER_SQL_TOOL && -x $CLUSTER_UI_BIN && -d $(cluster_schema_dir) ]]; }

cluster_schema_dir() { echo "$CLUSTER_GO_MODCACHE/$CLUSTER_SERVER_MODULE@$CLUSTER_SERVER_VERSION/schema/postgresql/v12"; }

# ---- certificates: a CA, the frontend's server certificate, one client certificate ----------------

cluster_certificates() {
  command -v openssl >/dev/null || die "openssl is required to make the cluster's mTLS certificates"
  "$ROOT/scripts/dev-certs.sh" "$CLUSTER_TLS" DNS:localhost,IP:127.0.0.1 >>"$LOGS/temporal.log" ||
    die "could not make the cluster's mTLS certificates in ${CLUSTER_TLS#"$ROOT"/} (scripts/dev-certs.sh)"
}

# The platform's client settings (API, workers, ops CLI, tests) for the cluster.
cluster_client_env() {
  export TEMPORAL_ADDRESS=$BIND:$TEMPORAL_PORT TEMPORAL_UI_URL=http://$BIND:$TEMPORAL_UI_PORT
  export TEMPORAL_TLS_CERT=$CLUSTER_TLS/client.pem TEMPORAL_TLS_KEY=$CLUSTER_TLS/client.key TEMPORAL_TLS_CA=$CLUSTER_TLS/ca.pem
}

# ---- Postgres: the stack's, or DATABASE_URL's server ------------------------------------------------

# host port user password of the Postgres the cluster uses (DATABASE_URL's server when set).
cluster_pg_settings() {
  local url=${DATABASE_URL:-postgres://edulure:edulure@$BIND:$PG_PORT/edulure}
  [[ $url =~ ^postgres(ql)?://([^:@/]+):([^@/]*)@([^:/]+)(:([0-9]+))?/ ]] ||
    die "STACK=cluster needs DATABASE_URL as postgres://user:password@host[:port]/db"
  echo "${BASH_REMATCH[4]} ${BASH_REMATCH[6]:-5432} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
}

cluster_sql() {
  local db=$1 host port user password
  shift
  read -r host port user password < <(cluster_pg_settings)
  "$CLUSTER_SQL_TOOL" --plugin postgres12 --ep "$host" -p "$port" -u "$user" --pw "$password" --db "$db" "$@"
}

cluster_db_exists() {
  local host port user password
  read -r host port user password < <(cluster_pg_settings)
  PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -h "$host" -p "$port" -U "$user" -d postgres \
    -tAc "select 1 from pg_database where datname = '$1'" | grep -q 1
}

cluster_has_schema() {
  local host port user password
  read -r host port user password < <(cluster_pg_settings)
  PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -h "$host" -p "$port" -U "$user" -d "$1" \
    -tAc "select 1 from pg_tables where tablename = 'schema_version'" | grep -q 1
}

# Creates the database (owned by the connecting role) and brings its schema to the module's version.
cluster_schema() {
  local db=$1 kind=$2
  cluster_db_exists "$db" || cluster_sql "$db" create-database >>"$LOGS/temporal.log" 2>&1 ||
    part_failed temporal "the SQL tool could not create database $db"
  cluster_has_schema "$db" || cluster_sql "$db" setup-schema -v 0.0 >>"$LOGS/temporal.log" 2>&1 ||
    part_failed temporal "the SQL tool could not set up the schema of $db"
  cluster_sql "$db" update-schema -d "$(cluster_schema_dir)/$kind/versioned" >>"$LOGS/temporal.log" 2>&1 ||
    part_failed temporal "the SQL tool could not update the schema of $db"
}

# ---- configuration ------------------------------------------------------------------------------------

cluster_datastore() {
  local db=$1 max=$2 host port user password
  read -r host port user password < <(cluster_pg_settings)
  cat <<EOF
      sql:
        pluginName: postgres12
        databaseName: "$db"
        connectAddr: "$host:$port"
        connectProtocol: tcp
        user: "$user"
        password: "$password"
        maxConns: $max
        maxIdleConns: $max
        maxConnLifetime: 1h
EOF
}

cluster_service() {
  printf '  %s:\n    rpc:\n      grpcPort: %s\n      membershipPort: %s\n      bindOnIP: %s\n' "$1" "$2" "$3" "$BIND"
  [[ -z ${4:-} ]] || printf '      httpPort: %s\n' "$4"
}

cluster_write_config() {
  local p=$TEMPORAL_PORT tls=$CLUSTER_TLS
  mkdir -p "$CLUSTER_DIR/config" "$CLUSTER_DIR/ui/config"
  {
    cat <<EOF
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: $CLUSTER_HISTORY_SHARDS
  datastores:
    default:
$(cluster_datastore "$CLUSTER_SQL_DATABASE" 20)
    visibility:
$(cluster_datastore "${CLUSTER_SQL_DATABASE}_visibility" 10)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "$BIND"
  pprof:
    port: 0
  tls:
    frontend:
      server:
        certFile: $tls/server.pem
        keyFile: $tls/server.key
        requireClientAuth: true
        clientCaFiles: [$tls/ca.pem]
      client:
        serverName: localhost
        rootCaFiles: [$tls/ca.pem]
    systemWorker:
      certFile: $tls/client.pem
      keyFile: $tls/client.key
      client:
        serverName: localhost
        rootCaFiles: [$tls/ca.pem]
services:
EOF
    cluster_service frontend "$p" $((p - 300)) $((p + 10))
    cluster_service history $((p + 1)) $((p - 299))
    cluster_service matching $((p + 2)) $((p - 298))
    cluster_service worker $((p + 6)) $((p - 294))
    cat <<EOF
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$BIND:$p"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $ROOT/deploy/temporal-dynamicconfig.yaml
  pollInterval: 10s
EOF
  } >"$CLUSTER_DIR/config/cluster.yaml"
  cat >"$CLUSTER_DIR/ui/config/cluster.yaml" <<EOF
temporalGrpcAddress: "$BIND:$p"
host: "$BIND"
port: $TEMPORAL_UI_PORT
enableUi: true
defaultNamespace: default
disableNewsFetch: true
disableWriteActions: true
tls:
  caFile: $tls/ca.pem
  certFile: $tls/client.pem
  keyFile: $tls/client.key
  enableHostVerification: true
  serverName: localhost
EOF
}

# ---- start ------------------------------------------------------------------------------------------

cluster_prepare() {
  cluster_installed || die "the Temporal cluster is not installed: run 'make install STACK=cluster'"
  cluster_certificates
  cluster_write_config
  cluster_schema "$CLUSTER_SQL_DATABASE" temporal
  cluster_schema "${CLUSTER_SQL_DATABASE}_visibility" visibility
}

cluster_launch() {
  cluster_prepare
  # No authorizer: the frontend takes only clients with a certificate of the stack's CA (mTLS).
  launch temporal "$CLUSTER_SERVER_BIN" --config-file "$CLUSTER_DIR/config/cluster.yaml" --allow-no-auth start
  # The UI outlives a crashed server (it reconnects): only a missing one is launched.
  owned_pid temporal-ui >/dev/null || launch temporal-ui "$CLUSTER_UI_BIN" --root "$CLUSTER_DIR/ui" --config config --env cluster start
}
