#!/bin/sh
# Development mTLS certificates for a Temporal frontend (POSIX sh and openssl only, so the compose
# one-shot job runs it too): a CA, the server's certificate, one client certificate.
#
#   scripts/dev-certs.sh DIR SAN     e.g. DIR=.data/temporal-cluster/tls SAN=DNS:localhost,IP:127.0.0.1
#
# Writes ca.pem/ca.key, server.pem/server.key (serverAuth and clientAuth: the cluster's own services
# present it to each other too) and client.pem/client.key into DIR; keeps what is already there, so
# certificates an operator mounted are never replaced. DEV_CERTS_KEY_MODE: the keys' mode (default 600). Production uses certificates from its own PKI.
set -eu
dir=${1:?usage: dev-certs.sh DIR SAN}
san=${2:?usage: dev-certs.sh DIR SAN}
if [ -s "$dir/ca.pem" ] && [ -s "$dir/server.pem" ] && [ -s "$dir/client.pem" ]; then
  echo "dev-certs: $dir already holds ca.pem, server.pem and client.pem; left alone"
  exit 0
fi
mkdir -p "$dir"
umask 077
ext=$(mktemp)
trap 'rm -f "$ext" "$dir"/*.csr "$dir"/ca.srl' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME SUBJECT EXTENDED-KEY-USAGE [SAN]
sign() {
  key "$dir/$1.key"
  openssl req -new -key "$dir/$1.key" -subj "$2" -out "$dir/$1.csr"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$3" >"$ext"
  if [ -n "${4:-}" ]; then printf 'subjectAltName=%s\n' "$4" >>"$ext"; fi
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 825 -sha256 \
    -extfile "$ext" -out "$dir/$1.pem" 2>/dev/null
}

key "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -days 3650 -sha256 -subj "/CN=Edulure Flow development Temporal CA" \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out "$dir/ca.pem"
cn=${san#*:}
sign server "/CN=${cn%%,*}" serverAuth,clientAuth "$san"
sign client /CN=edulure-flow clientAuth
chmod 644 "$dir"/*.pem
# Keys stay private to the owner, unless the services reading them run as other users (the compose job).
chmod "${DEV_CERTS_KEY_MODE:-600}" "$dir"/*.key
echo "dev-certs: made ca, server ($san) and client certificates in $dir"
