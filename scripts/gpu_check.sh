#!/usr/bin/env bash
# The GPU device check (python -m bench.gpu) as one command for the device machine:
#   run(command="bash scripts/gpu_check.sh", carry=[".gpu"], timeout_s=540)
# Its figures land in $OUT (gpu.json, gpu.md, gpu.log). With .gpu/site.tar.xz (scripts/gpu_prepare.sh)
# the packages that machine lacks are unpacked first; without it the installed ones are used, which
# is how CI runs it on a CPU (tests/bench/test_gpu_check.py):
#   GPU_SITE=none PYTHON=.venv/bin/python OUT=DIR bash scripts/gpu_check.sh --device cpu --dry-run
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_out}
PYTHON=${PYTHON:-python3}
SITE=${GPU_SITE:-.gpu/site.tar.xz}  # its packages are for Python 3.12 only
mkdir -p "$OUT"
if [ -f "$SITE" ]; then
  site=$(mktemp -d /tmp/clinical-ner-site.XXXXXX)
  tar -xJf "$SITE" -C "$site"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  echo "[gpu-check] packages from $SITE"
else
  echo "[gpu-check] no $SITE: using the installed packages"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/nvidia-smi.csv" || true
fi
set -o pipefail
"$PYTHON" -m bench.gpu --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu.log"
