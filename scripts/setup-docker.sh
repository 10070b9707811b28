#!/usr/bin/env bash
# Makes a Docker Engine answer on this machine: reuses a running one, else installs Debian's docker.io (when
# dockerd is missing) and starts dockerd in the background. Idempotent; prints the engine version when ready.
# Environment: AIRLOCK_DOCKER_WAIT (seconds to wait for the engine, default 60).
set -euo pipefail

wait_seconds="${AIRLOCK_DOCKER_WAIT:-60}"
tmp="${TMPDIR:-/tmp}"
log="$tmp/airlock-dockerd.log"

engine_ok() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# One at a time: parallel test files may all call this; the later ones wait and then reuse the result.
if command -v flock >/dev/null 2>&1; then exec 9>"${TMPDIR:-/tmp}/airlock-docker.lock"; flock 9; fi

if command -v docker >/dev/null 2>&1 && engine_ok; then
  echo "docker engine already running: $(docker info --format '{{.ServerVersion}}')"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
  echo "setup-docker: need root to run '$*' (run this script as root or install sudo)" >&2; exit 1; fi; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-docker: no Docker Engine and no apt-get; install Docker (or Podman with its socket) yourself" >&2
    exit 1
  fi
  echo "installing docker.io with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

# A socket left by a dockerd that died would make the new one refuse to start.
if ! pgrep -x dockerd >/dev/null 2>&1; then
  as_root rm -f /var/run/docker.sock /var/run/docker.pid
  echo "starting dockerd (log: $log)"
  as_root setsid nohup dockerd >"$log" 2>&1 </dev/null 9>&- &
fi

for _ in $(seq 1 "$wait_seconds"); do
  if engine_ok; then
    echo "docker engine ready: $(docker info --format '{{.ServerVersion}}')"
    exit 0
  fi
  sleep 1
done
echo "setup-docker: the engine did not answer within ${wait_seconds}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
