#!/usr/bin/env bash
# Packs what the GPU device machine lacks into .gpu/site.tar.xz, for scripts/gpu_check.sh.
#
# That machine has Python 3.12 with torch, transformers, tokenizers, pyarrow, numpy, scipy,
# matplotlib, grpcio and protobuf, but no apache-beam, pytorch-crf, smart-open or pyiceberg, and it
# cannot reach PyPI. This script downloads those packages (and their dependencies the machine
# lacks) as CPython 3.12 manylinux wheels at the versions this virtualenv has, unpacks them into one
# folder, strips the debug symbols from their compiled modules and drops their tests and examples:
# the repository (about 47 MB) and what is carried must fit in 64 MiB, and apache-beam's wheel alone
# is 19 MB (3 MB once stripped and compressed).
#
# Run here (needs PyPI), then on the device:  run(command="bash scripts/gpu_check.sh", carry=[".gpu"])
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
PACKAGES=(
  apache-beam beartype cryptography cffi pycparser dnspython fastavro fasteners httplib2 jsonpickle objsize
  proto-plus pymongo pytz zstandard
  pytorch-crf smart-open
  pyiceberg annotated-types cachetools mmh3 pydantic pydantic-core pyroaring sqlalchemy strictyaml tenacity
  typing-inspection
)
pins=$("$PYTHON" - "${PACKAGES[@]}" <<'PY'
import sys
from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))
PY
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64 \
  manylinux_2_34_x86_64; do platforms+=(--platform "$p"); done
echo "[gpu-prepare] downloading: $pins"
# shellcheck disable=SC2086
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d "$work/wheels" $pins
mkdir -p "$work/site"
for wheel in "$work"/wheels/*.whl; do unzip -q -o "$wheel" -d "$work/site"; done
find "$work/site" -name '*.so' -exec strip --strip-unneeded {} +
find "$work/site" \( -name '*_test.py' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.c' -o -name '*.cpp' \) -delete
rm -rf "$work/site/apache_beam/examples" "$work/site/apache_beam/testing/benchmarks"
mkdir -p .gpu
tar -cJf .gpu/site.tar.xz -C "$work/site" .
echo "[gpu-prepare] .gpu/site.tar.xz: $(du -h .gpu/site.tar.xz | cut -f1); carry it: carry=[\".gpu\"]"
