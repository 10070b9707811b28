#!/usr/bin/env bash
# Runs an S3-compatible server on 127.0.0.1:<port> (default 45010) for the pipeline tests: Versity S3 Gateway
# (Apache-2.0) over a POSIX directory under the OS temp dir, built once with `go install` from the Go module proxy
# into ${AIRLOCK_CACHE_DIR:-$HOME/.cache/airlock}/bin. Reuses a server that already answers. Idempotent.
# Usage: setup-s3.sh [port] | setup-s3.sh --build-only. Credentials (test-only): access key "airlock-test", secret
# "airlock-test-secret".
set -euo pipefail

build_only=false
if [ "${1:-}" = "--build-only" ]; then build_only=true; shift; fi
port="${1:-45010}"
version="v1.8.0"
cache="${AIRLOCK_CACHE_DIR:-$HOME/.cache/airlock}"
bin="$cache/bin/versitygw-$version"
tmp="${TMPDIR:-/tmp}"
dir="$tmp/airlock-s3-$port"
url="http://127.0.0.1:$port/"

# Any HTTP answer (an unsigned request gets 403) means the server is up.
s3_ok() { curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$url" | grep -qE '^[1-5][0-9][0-9]$'; }

if command -v flock >/dev/null 2>&1; then exec 9>"$tmp/airlock-s3.lock"; flock 9; fi

if ! $build_only && s3_ok; then
  echo "s3 server already answering at 127.0.0.1:$port"
  exit 0
fi

if [ ! -x "$bin" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "setup-s3: Go is needed to build the S3 test server once: install Go >= 1.21 from go.dev/dl (it fetches the toolchain the module needs through the module proxy) and rerun" >&2
    exit 1
  fi
  echo "setup-s3: building versitygw $version from the Go module proxy (once; cached in $cache/bin)"
  mkdir -p "$cache/bin"
  GOBIN="$cache/bin/.build" GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$version"
  mv "$cache/bin/.build/versitygw" "$bin"
  rmdir "$cache/bin/.build" 2>/dev/null || true
fi
if $build_only; then
  echo "s3 server binary ready: $bin"
  exit 0
fi

mkdir -p "$dir/root" "$dir/sidecar"
# Its own session: the server outlives the test run that started it and is reused next time.
ROOT_ACCESS_KEY=airlock-test ROOT_SECRET_KEY=airlock-test-secret \
  setsid nohup "$bin" --port "127.0.0.1:$port" posix --sidecar "$dir/sidecar" "$dir/root" >"$dir/server.log" 2>&1 </dev/null 9>&- &
echo $! >"$dir/server.pid"

for _ in $(seq 1 30); do
  if s3_ok; then
    echo "s3 server ready at 127.0.0.1:$port (data: $dir/root)"
    exit 0
  fi
  sleep 1
done
echo "setup-s3: nothing answered at $url within 30s; last lines of $dir/server.log:" >&2
tail -n 20 "$dir/server.log" >&2 || true
exit 1
