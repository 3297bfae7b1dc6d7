#!/usr/bin/env bash
# One call on the device machine: the WGSL sparse GEMV (bitmask, 2:4, 4:8) vs the dense WGSL GEMV (Dawn's Vulkan on the
# NVIDIA driver) and PyTorch's dense f32 / bf16 GEMV on the same GPU (`npm run bench -- gpu-sparse`). Carry
# [".device/webgpu", "dist", ".gl"] (bench/device/pack-webgpu.sh, any MODEL_DIR). Writes RESULTS.md and the logs to $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/device/gpu-env.sh
O=${OUT:-/tmp}
PYTHONUNBUFFERED=1 python3 bench/device/torch_gemv.py "$O/torch-gemv.json" 2>&1 | tee "$O/torch.log"
D=.device/webgpu
source bench/device/unpack-node.sh
node dist/bench/run.js gpu-sparse --torch "$O/torch-gemv.json" "$@" 2>&1 | tee "$O/gpu-sparse.log"
cp bench/RESULTS.md "$O/RESULTS.md"
