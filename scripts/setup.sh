#!/usr/bin/env bash
# Installs what Airlock needs on a Debian 12 machine and builds it. Idempotent: installs only what is missing.
#   scripts/setup.sh          npm packages + build (enough for `airlock standalone` with the process backend)
#   scripts/setup.sh --test   also the system packages the test suite uses (bubblewrap, Docker Engine, an OCI
#                             registry, debootstrap, PostgreSQL, Chromium) and the test Kubernetes cluster's
#                             binaries (built once from the Go module proxy into the cache outside the clone)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(bubblewrap)
if [ "${1:-}" = "--test" ]; then
  want+=(docker.io docker-registry debootstrap postgresql chromium fonts-dejavu-core procps iproute2 curl ca-certificates python3-venv)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "setup: missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 2
  fi
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# uv resolves and installs Python environments. It comes from PyPI into a venv in Airlock's cache (outside the
# clone), where Airlock looks for it; any python3 with the venv module can host it.
uv_venv="${AIRLOCK_CACHE_DIR:-$HOME/.cache/airlock}/uv"
if [ ! -x "$uv_venv/bin/uv" ]; then
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "setup: installing python3-venv (for uv)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
  echo "setup: installing uv into $uv_venv (pip install uv)"
  rm -rf "$uv_venv"
  python3 -m venv "$uv_venv"
  "$uv_venv/bin/pip" install --quiet --disable-pip-version-check uv
fi

# better-sqlite3 compiles from source when no prebuilt binary can be fetched: it needs the Node headers.
if [ -z "${npm_config_nodedir:-}" ] && [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
if [ "${1:-}" = "--test" ]; then
  echo "setup: schemathesis"
  bash scripts/setup-schemathesis.sh >/dev/null
fi
echo "setup: build"
npm run --silent build

if [ "${1:-}" = "--test" ]; then
  echo "setup: test kubernetes cluster binaries"
  bash scripts/k8s/cluster.sh build
fi
# The pipeline tests' S3-compatible server: built once from the Go module proxy, cached outside the clone.
if [ "${1:-}" = "--test" ]; then bash scripts/setup-s3.sh --build-only; fi
