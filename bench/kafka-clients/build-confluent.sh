#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript for the Kafka client benchmark, built from source, into the ticklake cache:
#
#   bash bench/kafka-clients/build-confluent.sh          # builds once (2-3 min on 2 cores), then a no-op
#   bash bench/kafka-clients/build-confluent.sh --print  # prints the install folder, builds nothing
#   bash bench/kafka-clients/build-confluent.sh --force  # builds again even when a build is there
#
# The package's install script fetches a prebuilt binary from GitHub, which this project's machines cannot reach, and
# then falls back to building librdkafka from the sources that the npm tarball carries (deps/librdkafka). Its default
# static link first downloads zlib, OpenSSL, zstd and curl sources, which fails too, so this builds the dynamic way
# (CKJS_LINKING=dynamic): the bundled librdkafka as a shared library next to the addon, linked against the system's
# OpenSSL and zlib. Needs a C/C++ toolchain, make, python3, pkg-config, and for TLS and compression the dev packages:
#
#   apt-get install -y build-essential python3 pkg-config libssl-dev zlib1g-dev libzstd-dev
#
# The version is the one pinned in confluent/package.json, with its lockfile and an allowScripts approval of the
# package's install script by name (npm matches a pinned name@version only against a lockfile "resolved" URL, which
# omit-lockfile-registry-resolved leaves out); the install runs with strict-allow-scripts, so no other dependency's
# script runs unreviewed. The folder is keyed by the version and by the Node ABI, since the addon is built for one:
#   ${TICKLAKE_STACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ticklake}/confluent-kafka-javascript/<version>-node-v<abi>-<os>-<arch>/
# bench/kafka-clients/drivers/confluent.ts loads the package from there and the harness skips the client when it is
# missing. The build runs at most CONFLUENT_BUILD_JOBS (default 2) compilers at once.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
spec="$here/confluent"
pkg=@confluentinc/kafka-javascript

mode=build
case "${1:-}" in
  '') ;;
  --print) mode=print ;;
  --force) mode=force ;;
  *) echo "usage: $0 [--print|--force]" >&2 && exit 2 ;;
esac

# Node 24 first on PATH: the addon is built for the Node that runs the benchmark.
# shellcheck source=../../infra/node/env.sh
. "$root/infra/node/env.sh"

version=$(node -p "require(process.argv[1]).dependencies['$pkg']" "$spec/package.json")
key=$(node -p '`node-v${process.versions.modules}-${process.platform}-${process.arch}`')
cache=${TICKLAKE_STACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ticklake}
dest="$cache/confluent-kafka-javascript/$version-$key"

if [ "$mode" = print ]; then
  echo "$dest"
  exit 0
fi

loads() {
  (cd "$1" && node -e "const k = require('$pkg'); process.stdout.write(k.librdkafkaVersion + '\n')")
}

if [ "$mode" = build ] && [ -f "$dest/.built" ] && v=$(loads "$dest" 2>/dev/null); then
  echo "$pkg $version (librdkafka $v) is built: $dest"
  exit 0
fi

missing=
for tool in make cc c++ python3 pkg-config; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "build-confluent: missing:$missing (apt-get install -y build-essential python3 pkg-config)" >&2
  exit 1
fi
for lib in libssl zlib libzstd; do
  pkg-config --exists "$lib" ||
    echo "build-confluent: $lib not found by pkg-config, librdkafka is built without it (apt-get install -y libssl-dev zlib1g-dev libzstd-dev)" >&2
done

# node-gyp compiles against the running Node's headers, which its tarball ships in include/node. Without nodedir it
# would download them, and an npmrc may point it at another Node's headers (nodedir=/usr is the system Node's).
nodedir=$(cd "$(dirname "$(command -v node)")/.." && pwd)
if [ ! -f "$nodedir/include/node/node_version.h" ]; then
  echo "build-confluent: no Node headers in $nodedir/include/node" >&2
  exit 1
fi

tmp="$dest.partial.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp" && mkdir -p "$tmp/.make"
cp "$spec/package.json" "$spec/package-lock.json" "$tmp/"

# librdkafka's gyp action runs `make -j` with no limit (one compiler per source file at once); this `make` first on
# PATH turns that -j into -j$CONFLUENT_BUILD_JOBS and passes everything else through. node-gyp's own make must stay
# serial (no JOBS, no -j in MAKEFLAGS): its generated Makefile does not order librdkafka's configure step before the
# step that needs its output, so a parallel node-gyp build stops on "No rule to make target
# '../deps/librdkafka/config.h'".
jobs=${CONFLUENT_BUILD_JOBS:-2}
real_make=$(command -v make)
cat >"$tmp/.make/make" <<EOF
#!/bin/sh
for a; do shift; if [ "\$a" = -j ]; then set -- "\$@" -j$jobs; else set -- "\$@" "\$a"; fi; done
exec "$real_make" "\$@"
EOF
chmod +x "$tmp/.make/make"

# build_from_source: node-pre-gyp skips the GitHub download (it reads npm_config_* from the environment itself, so
# npm 11's "Unknown env config" warning about it is harmless).
echo "build-confluent: building $pkg $version from source into $dest (log: build.log there)" >&2
start=$(date +%s)
if ! (cd "$tmp" && unset JOBS MAKEFLAGS MFLAGS npm_config_jobs && PATH="$tmp/.make:$PATH" CKJS_LINKING=dynamic \
  npm_config_build_from_source=true npm_config_nodedir="$nodedir" npm_config_ignore_scripts=false \
  npm_config_strict_allow_scripts=true npm ci --foreground-scripts --no-audit --no-fund >build.log 2>&1); then
  cp "$tmp/build.log" "$dest.failed.log"
  tail -40 "$dest.failed.log" >&2
  echo "build-confluent: the build failed; its log: $dest.failed.log" >&2
  exit 1
fi
v=$(loads "$tmp") || {
  echo "build-confluent: built, but the addon does not load" >&2
  exit 1
}

# Only the addon and the shared librdkafka next to it are loaded at run time: drop the object files and the static
# archives (about 255 MB of the 295 MB a build leaves).
mod="$tmp/node_modules/$pkg"
make -s -C "$mod/deps/librdkafka/src" clean
make -s -C "$mod/deps/librdkafka/src-cpp" clean
rm -rf "$mod/build/Release/obj.target" "$mod/build/deps/"*.a "$tmp/.make"
loads "$tmp" >/dev/null

echo "$pkg $version, librdkafka $v, built $(date -u +%FT%TZ) in $(($(date +%s) - start)) s" >"$tmp/.built"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest" "$dest.failed.log"
mv "$tmp" "$dest"
trap - EXIT
echo "$pkg $version (librdkafka $v) built in $(($(date +%s) - start)) s: $dest ($(du -sh "$dest" | cut -f1))"
