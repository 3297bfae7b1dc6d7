# Sourced by the device scripts that run Lithe on WebGPU (webgpu.sh, gpu-sparse.sh, train.sh) with D set to the carried
# folder: puts the carried node binary on PATH and unpacks the runtime npm dependencies and the webgpu package.
mkdir -p /tmp/lithe-bin
xz -dc $D/node.xz > /tmp/lithe-bin/node 2>/dev/null || python3 -c "import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())" $D/node.xz > /tmp/lithe-bin/node
chmod +x /tmp/lithe-bin/node
export PATH=/tmp/lithe-bin:$PATH
for f in rt webgpu; do python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall('.')" $D/$f.tar.xz; done
