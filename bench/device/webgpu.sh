#!/usr/bin/env bash
# One call on the device machine: WebGPU (Dawn's Vulkan on the NVIDIA driver) vs PyTorch on the same GPU.
# Carry [".device/webgpu", "dist", ".gl"] (made by bench/device/pack-webgpu.sh): the node binary, dawn.node and the
# webgpu package's loader, the Vulkan loader .deb, a model folder. Writes RESULTS.md, torch.json and the log to $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/device/gpu-env.sh
echo "vulkan driver manifest: ${VK_DRIVER_FILES:-none found}"
O=${OUT:-/tmp}
PYTHONUNBUFFERED=1 python3 bench/device/torch_peak.py "$O/torch.json" 2>&1 | tee "$O/torch.log"
D=.device/webgpu
source bench/device/unpack-node.sh
S=/tmp/lithe-shared; mkdir -p $S/text/wikitext-2-raw /tmp/model
python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" $D/data/test.joined.txt.xz $S/text/wikitext-2-raw/test.joined.txt
python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" $D/model.tar.xz /tmp/model
export LITHE_SHARED_DATA=$S
node dist/bench/run.js webgpu --torch "$O/torch.json" --model /tmp/model/$(ls /tmp/model) "$@" 2>&1 | tee "$O/webgpu.log"
cp bench/RESULTS.md "$O/RESULTS.md"
