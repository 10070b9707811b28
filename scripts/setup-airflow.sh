#!/usr/bin/env bash
# Installs Apache Airflow (from PyPI, with uv) into a venv cached outside the clone, for the opt-in side-by-side
# benchmark (`npm run bench -- --peers airflow`). Idempotent: does nothing when that version is already installed.
# Airflow publishes its constraints files only in its source repository, not on PyPI, so the few packages whose
# versions change Airflow's behaviour are pinned here instead. Prints the venv's path on stdout (progress on stderr).
# Environment: AIRFLOW_VERSION (default below), AIRLOCK_CACHE_DIR.
set -euo pipefail
version="${AIRFLOW_VERSION:-3.3.2}"
cache="${AIRLOCK_CACHE_DIR:-$HOME/.cache/airlock}"
venv="$cache/venvs/airflow-$version"
if [ -f "$venv/.installed" ]; then echo "$venv"; exit 0; fi
uv="$(command -v uv || true)"
[ -x "$cache/uv/bin/uv" ] && uv="$cache/uv/bin/uv"
if [ -z "$uv" ]; then
  echo "setup-airflow: uv is needed; run scripts/setup.sh (it installs uv into $cache/uv)" >&2
  exit 2
fi
python="$(command -v python3.11 || command -v python3 || true)"
if [ -z "$python" ]; then echo "setup-airflow: python3 (3.10-3.13) is needed" >&2; exit 2; fi
# A half-finished earlier install (no marker) is started over. uv must not download an interpreter.
rm -rf "$venv"
export UV_PYTHON_DOWNLOADS=never
"$uv" venv --quiet --python "$python" "$venv" >&2
# The versions resolved when the benchmark was written, for the packages that shape the API server and the
# metadata database; everything else is left to the resolver.
pins=("apache-airflow==$version")
if [ "$version" = "3.3.2" ]; then
  pins+=("apache-airflow-core==3.3.2" "apache-airflow-task-sdk==1.3.2" "sqlalchemy==2.1.9" "alembic==1.20.1"
    "fastapi==0.136.3" "starlette==1.10.0" "uvicorn==0.55.0" "pydantic==2.14.4" "pendulum==3.3.0" "httpx==0.29.0")
fi
echo "setup-airflow: installing ${pins[*]} into $venv" >&2
VIRTUAL_ENV="$venv" "$uv" pip install --quiet --python "$venv/bin/python" "${pins[@]}" >&2
"$venv/bin/airflow" version >&2
touch "$venv/.installed"
echo "$venv"
