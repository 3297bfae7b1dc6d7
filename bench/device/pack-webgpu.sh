#!/usr/bin/env bash
# Prepares what bench/device/webgpu.sh carries, all git-ignored: .device/webgpu/: node.xz (the local node binary),
# .device/rt.tar.xz (runtime npm dependencies without webgpu), .device/webgpu.tar.xz (the webgpu package with only
# its linux-x64 dawn.node), .device/model.tar.xz (MODEL_DIR, default a W4 packed lithe-ref-a made with
# `lithe quantize`), .device/data/test.joined.txt.xz, and .gl/ with Debian's Vulkan and GL loaders (libvulkan1, libglvnd; the NVIDIA ICD needs libGLX).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${LITHE_SHARED_DATA:-../shared/data}
MODEL_DIR=${1:?usage: pack-webgpu.sh MODEL_DIR}
D=.device/webgpu
mkdir -p $D/data .gl
[ -f $D/node.xz ] || xz -T0 -9 -c "$(readlink -f "$(command -v node)")" > $D/node.xz
rt=$(mktemp -d)
cp package.json package-lock.json "$rt"/ && (cd "$rt" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null && rm -rf node_modules/webgpu)
tar -C "$rt" -cJf $D/rt.tar.xz node_modules && rm -rf "$rt"
tar -cJf $D/webgpu.tar.xz --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' node_modules/webgpu
tar -C "$(dirname "$MODEL_DIR")" -cJf $D/model.tar.xz "$(basename "$MODEL_DIR")"
xz -9 -c "$SHARED/text/wikitext-2-raw/test.joined.txt" > $D/data/test.joined.txt.xz
if ! ls .gl/libglx0_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh $D/node.xz $D/rt.tar.xz $D/webgpu.tar.xz $D/model.tar.xz .gl dist
