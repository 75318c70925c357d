#!/usr/bin/env bash
# Set up the runtime and start the app on the built-in Xihu demo (http://localhost:8501).
# On first start it creates a demo planner account and prints its password (kept in
# .demo_credentials, readable by you only); manage accounts with `python -m data users`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python -m data prepare   # the demo bundle, network and font caches, before anyone waits
if [ ! -s .demo_credentials ]; then
  pw="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')"
  if printf '%s\n' "$pw" | .venv/bin/python -m data users add --username demo_planner --role planner --password-stdin; then
    (umask 077 && printf 'demo_planner %s\n' "$pw" > .demo_credentials)
  fi
fi
[ -s .demo_credentials ] && echo "demo sign-in (user password): $(cat .demo_credentials)"
exec .venv/bin/streamlit run serve.py "$@"
