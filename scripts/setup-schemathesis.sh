#!/usr/bin/env bash
# Installs schemathesis (the API contract test tool, from PyPI) into a venv cached outside the clone.
# Idempotent: does nothing when the pinned version is already there. Prints the path of the `st` command.
set -euo pipefail
VERSION=4.32.5
venv="${AIRLOCK_CACHE_DIR:-$HOME/.cache/airlock}/venvs/schemathesis-$VERSION"
if [ ! -f "$venv/.installed" ]; then
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "setup-schemathesis: python3 with venv and ensurepip is needed (apt-get install python3-venv)" >&2
    exit 2
  fi
  # A half-finished earlier install (no marker) is started over.
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/st"
