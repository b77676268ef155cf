#!/usr/bin/env bash
# The GPU check of the classifier (docs/performance.md, "The GPU path"): CPU-GPU
# agreement, training/inference throughput per precision and memory format, and a
# short paper-scale benchmark, in under 10 minutes on one H100/H200-class GPU.
#
#   benchmarks/gpu_check.sh [OUT] [--budget SECONDS] [--data-home DIR]
#   benchmarks/gpu_check.sh /tmp/gpu-smoke --cpu-smoke   # toy size on the CPU, < 1 min
#
# PYTHON=... picks the interpreter (default: .venv/bin/python if there is one, else
# python); it needs a CUDA build of torch. OUT defaults to benchmarks/results/gpu.
# Exits with 2 when there is no CUDA device (unless --cpu-smoke), 1 when a part
# failed or CPU and GPU disagree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"
if [ -x "$root/.venv/bin/python" ] && [ -z "${PYTHON:-}" ]; then
    python="$root/.venv/bin/python"
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" "$root/benchmarks/gpu_check.py" "$@"
