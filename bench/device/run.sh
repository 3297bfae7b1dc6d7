#!/usr/bin/env bash
# Runs `npm run bench -- ARGS` (or, with `--cli ARGS`, `lithe ARGS`) on the device machine, which has no Node.js:
# unpacks the node binary and the data carried in .device/ (made by bench/device/pack.sh), then runs it; the log
# and RESULTS.md go to $OUT. Paths under $LITHE_SHARED_DATA (= /tmp/lithe-shared) hold the unpacked data.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c "import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())" "$1"; fi; }
mkdir -p /tmp/lithe-bin
unxz $D/node.xz > /tmp/lithe-bin/node && chmod +x /tmp/lithe-bin/node
export PATH=/tmp/lithe-bin:$PATH
if [ ! -e node_modules ]; then
  if command -v xz >/dev/null; then tar -xJf $D/rt.tar.xz; else python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall('.')" $D/rt.tar.xz; fi
fi
S=/tmp/lithe-shared
mkdir -p $S/llm $S/text/wikitext-2-raw
cp -r $D/data/lithe-ref-a $S/llm/
unxz $D/data/lithe-ref-a/model.safetensors.xz > $S/llm/lithe-ref-a/model.safetensors && rm $S/llm/lithe-ref-a/model.safetensors.xz
unxz $D/data/test.joined.txt.xz > $S/text/wikitext-2-raw/test.joined.txt
export LITHE_SHARED_DATA=$S
echo "node $(node --version) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
if [ "${1:-}" = "--cli" ]; then
  shift
  node bin/lithe.js "$@" 2>&1 | tee "${OUT:-/tmp}/cli.log"
else
  node dist/bench/run.js "$@" 2>&1 | tee "${OUT:-/tmp}/bench.log"
  cp bench/RESULTS.md "${OUT:-/tmp}/RESULTS.md"
fi
