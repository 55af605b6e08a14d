#!/usr/bin/env bash
# Create (or reuse) .venv and install the project with its declared dependencies (setup.py reads
# requirements.txt: the one list, also used by `pip install .` and deploy/worker.Dockerfile).
# Used by run_local.sh and run_tests.sh; safe to run again.
#
# torch: pinned here so every machine tests the same build. PyPI's Linux wheel is the CUDA build;
# set TORCH_INDEX_URL (e.g. PyTorch's CPU index) to install another build first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# On a clean CI machine pip's cache only costs disk: it buffers every download in a temporary file
# and then keeps a copy, so the CUDA build (about 6 GiB installed) needs twice its wheels' size on top.
if [ -n "${CI:-}" ]; then
  PIP+=(--no-cache-dir)
fi
# The disk that .venv and pip's temporary files are on, in GiB free (df -P: 1024-byte blocks).
free_gib() {
  df -P "$1" | awk 'NR == 2 { printf "%.1f", $4 / 1048576 }'
}
# One clear line when pip fails, with the free space (the last CI failure was a full disk); pip's own
# traceback stays above it.
pip_install() {
  if ! "${PIP[@]}" "$@"; then
    echo "[setup] error: pip install $* failed; free space: .venv $(free_gib .venv) GiB," \
      "temporary files $(free_gib "${TMPDIR:-/tmp}") GiB (.venv with the CUDA torch build takes about 6.3 GiB," \
      "and pip needs room for the downloaded wheels beside it; TORCH_INDEX_URL can name a CPU build)" >&2
    exit 1
  fi
}
stamp=.venv/.nercore-installed
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  echo "[setup] installing torch==$TORCH_VERSION and the project ($(free_gib .venv) GiB free)"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    pip_install "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    pip_install "torch==$TORCH_VERSION"
  fi
  pip_install -e ".[dev,spark]"
  touch "$stamp"
fi

# Prism, Beam's portable runner (the reference implementation of the protocol Flink, Spark and
# Dataflow speak), built from the Go module proxy at the installed apache-beam's version, once,
# when Go is present: .venv/prism/prism. The tests run the job on it (tests/beam_jobs/test_prism.py).
if command -v go >/dev/null 2>&1; then
  beam_version=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('apache-beam'))")
  prism=".venv/prism/prism-$beam_version"
  if [ ! -x "$prism" ]; then
    echo "[setup] building Prism v$beam_version (go install, about 90 s)"
    mkdir -p .venv/prism/build
    GOBIN="$PWD/.venv/prism/build" go install "github.com/apache/beam/sdks/v2/go/cmd/prism@v$beam_version"
    mv .venv/prism/build/prism "$prism"
  fi
  ln -sfn "prism-$beam_version" .venv/prism/prism
fi
