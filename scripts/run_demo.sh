#!/usr/bin/env bash
# Set up the runtime and start the app on the built-in Xihu demo (http://localhost:8501).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/streamlit run app.py --server.headless true "$@"
