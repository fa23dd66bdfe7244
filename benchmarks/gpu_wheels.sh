#!/usr/bin/env bash
# Fill .whl/ with the packages benchmarks/gpu_suite.py needs that a GPU node's own Python
# lacks (read for the project's device image, 2026-11: Python 3.12 with torch 2.11,
# torchaudio, transformers, pyarrow, safetensors, scikit-learn, rich, scipy, einops, psutil,
# tqdm, pyyaml, tensorboard; no soundfile, soxr, faiss, encodec or DAC). Run it where pip can
# reach a registry; copy the checkout with .whl/ to the node; gpu_suite.py unpacks them.
#
#   bash benchmarks/gpu_wheels.sh              # wheels for CPython 3.12, manylinux x86_64
#   PY=3.11 bash benchmarks/gpu_wheels.sh      # another node Python
#   OUT=/tmp/w bash benchmarks/gpu_wheels.sh   # another folder
#
# Each package comes without its dependencies (--no-deps): the list names every one the
# node lacks. Binary wheels for the node's platform where the registry has them; a package
# published only as a source archive (pure Python: argbind, randomname) is built into a
# wheel here. About 21 MB in all (faiss-cpu is 12 MB); the device tool carries 64 MiB.
set -euo pipefail

PY="${PY:-3.12}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/.whl}"
PIP="${PIP:-python3 -m pip}"

PACKAGES=(
    # audio I/O and resampling (audiotok.audio); soundfile loads libsndfile through cffi
    soundfile cffi pycparser soxr
    # k-means backend (kmeans.faiss line; the CPU build: faiss-gpu wheels are ~135 MB)
    faiss-cpu
    # EnCodec reference package (codec.encodec-24khz line)
    encodec==0.1.1
    # (the codec.dac-44khz line's baseline is transformers' DacModel: the device image has it)
)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64
           manylinux2014_x86_64 manylinux1_x86_64 any)

mkdir -p "$OUT"
args=(--no-deps --only-binary=:all: --python-version "$PY" --implementation cp -d "$OUT")
for p in "${PLATFORMS[@]}"; do args+=(--platform "$p"); done
for pkg in "${PACKAGES[@]}"; do
    if ! $PIP download -q "${args[@]}" "$pkg" >/dev/null 2>&1; then
        echo "building $pkg (no binary wheel published)" >&2
        $PIP wheel -q --no-deps -w "$OUT" "$pkg" >/dev/null
    fi
done
ls -1 "$OUT"/*.whl
du -sh "$OUT"
