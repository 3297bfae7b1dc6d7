#!/usr/bin/env bash
# One call on the device machine: `npm run bench -- train --only throughput` (Lithe's CPU kernels vs the machine's
# PyTorch at 1 and 2 threads) and `--only webgpu` (Lithe on Dawn's Vulkan vs PyTorch CUDA on the same GPU). Carry
# [".device/train", "dist", ".gl"] (bench/device/pack-train.sh). Writes RESULTS.md and the log to $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/device/gpu-env.sh
D=.device/train
source bench/device/unpack-node.sh
export LITHE_PYTHON=python3
O=${OUT:-/tmp}
echo "node $(node --version) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); torch $(python3 -c 'import torch; print(torch.__version__)')"
node dist/bench/run.js train --only throughput "$@" 2>&1 | tee "$O/train-cpu.log"
node dist/bench/run.js train --only webgpu "$@" 2>&1 | tee "$O/train-webgpu.log"
cp bench/RESULTS.md "$O/RESULTS.md"
