#!/usr/bin/env bash
# Prepares what bench/device/train.sh carries, all git-ignored: .device/train/: node.xz (the local node binary),
# rt.tar.xz (runtime npm dependencies without webgpu), webgpu.tar.xz (the webgpu package with only its linux-x64
# dawn.node), and .gl/ with Debian's Vulkan and GL loaders (as pack-webgpu.sh). Then run on the device with carry
# [".device/train", "dist", ".gl"] and command "bash bench/device/train.sh".
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device/train
mkdir -p $D .gl
[ -f $D/node.xz ] || xz -T0 -9 -c "$(readlink -f "$(command -v node)")" > $D/node.xz
rt=$(mktemp -d)
cp package.json package-lock.json "$rt"/ && (cd "$rt" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null && rm -rf node_modules/webgpu)
tar -C "$rt" -cJf $D/rt.tar.xz node_modules && rm -rf "$rt"
tar -cJf $D/webgpu.tar.xz --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' node_modules/webgpu
if ! ls .gl/libglx0_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh $D/* .gl dist
