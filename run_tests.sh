#!/usr/bin/env bash
# Set up the environment (first run only) and run the linter and the test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
echo "[tests] ruff"
.venv/bin/ruff check .
echo "[tests] pytest"
.venv/bin/python -m pytest -q "$@"
