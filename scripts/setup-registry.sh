#!/usr/bin/env bash
# Runs Debian's docker-registry on 127.0.0.1:<port> (default 5000) with its config and storage under the OS temp
# dir; reuses one that already answers. Idempotent. Usage: setup-registry.sh [port]
set -euo pipefail

port="${1:-5000}"
tmp="${TMPDIR:-/tmp}"
dir="$tmp/airlock-registry-$port"
url="http://127.0.0.1:$port/v2/"

registry_ok() { curl -fs -o /dev/null --max-time 2 "$url"; }

# One at a time: parallel test files may all call this; the later ones wait and then reuse the result.
if command -v flock >/dev/null 2>&1; then exec 9>"${TMPDIR:-/tmp}/airlock-registry.lock"; flock 9; fi

if registry_ok; then
  echo "registry already answering at 127.0.0.1:$port"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
  echo "setup-registry: need root to run '$*' (run this script as root or install sudo)" >&2; exit 1; fi; }

if ! command -v docker-registry >/dev/null 2>&1; then
  echo "installing docker-registry with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # The package's own service is not wanted: this script runs its own instance on a chosen port.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
fi

mkdir -p "$dir/storage"
cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML

# Its own session: the registry outlives the shell (or test run) that started it and is reused next time.
setsid nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null 9>&- &
echo $! >"$dir/registry.pid"

for _ in $(seq 1 30); do
  if registry_ok; then
    echo "registry ready at 127.0.0.1:$port (storage: $dir/storage)"
    exit 0
  fi
  sleep 1
done
echo "setup-registry: nothing answered at $url within 30s; last lines of $dir/registry.log:" >&2
tail -n 20 "$dir/registry.log" >&2 || true
exit 1
