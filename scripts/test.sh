#!/usr/bin/env bash
# Set up (dev) and run the whole test suite: lint, types, tests. This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
# a throw-away PostgreSQL (Debian's package, installed by setup.sh) for the storage tests
trap 'bash scripts/pg_test_server.sh stop' EXIT
XIHU_TEST_PG_URL="$(bash scripts/pg_test_server.sh start)"
export XIHU_TEST_PG_URL
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest -q "$@"
