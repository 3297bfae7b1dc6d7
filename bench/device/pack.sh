#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for bench/device/run.sh: the local node binary and the reference model
# xz-compressed, the runtime npm dependencies, and the evaluation text. Needs ../shared/data. Then run on the
# device with carry [".device", "dist"] and command "bash bench/device/run.sh NAME ...".
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${LITHE_SHARED_DATA:-../shared/data}
D=.device
mkdir -p $D/data/lithe-ref-a
[ -f $D/node.xz ] || xz -T0 -9 -c "$(readlink -f "$(command -v node)")" > $D/node.xz
rt=$(mktemp -d)
cp package.json package-lock.json "$rt"/ && (cd "$rt" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
tar -C "$rt" -cJf $D/rt.tar.xz node_modules && rm -rf "$rt"
for f in config.json tokenizer.json tokenizer_config.json; do cp "$SHARED/llm/lithe-ref-a/$f" $D/data/lithe-ref-a/; done
cp -r "$SHARED/llm/lithe-ref-a/pruning-reference" "$SHARED/llm/lithe-ref-a/quant-reference" $D/data/lithe-ref-a/
[ -f $D/data/lithe-ref-a/model.safetensors.xz ] || xz -T0 -9 -c "$SHARED/llm/lithe-ref-a/model.safetensors" > $D/data/lithe-ref-a/model.safetensors.xz
xz -9 -c "$SHARED/text/wikitext-2-raw/test.joined.txt" > $D/data/test.joined.txt.xz
du -sh $D dist
