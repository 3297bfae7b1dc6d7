#!/usr/bin/env bash
# Mesa 25's lavapipe (a Vulkan software GPU with shader-f16 and subgroups) from bookworm-backports, unpacked into a
# private prefix without touching the system's apt sources. Prints the two variables that point Dawn's Vulkan
# loader at it; use as: eval "$(bash scripts/lavapipe.sh /tmp/lithe-lavapipe)". Needs Debian's package mirror.
set -euo pipefail
P=${1:-/tmp/lithe-lavapipe}
if [ ! -f "$P/lvp.json" ]; then
  mkdir -p "$P/lists/partial" "$P/cache/archives/partial" "$P/debs" "$P/root"
  echo 'deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main' > "$P/sources.list"
  o="-o Dir::Etc::SourceList=$P/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$P/lists -o Dir::Cache=$P/cache"
  apt-get $o update >/dev/null 2>&1
  (cd "$P/debs" && apt-get $o download libvulkan1 mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports \
    libdrm-amdgpu1/bookworm-backports libdrm-common/bookworm-backports >/dev/null 2>&1)
  for f in "$P"/debs/*.deb; do dpkg -x "$f" "$P/root"; done
  lib="$P/root/usr/lib/x86_64-linux-gnu"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); j['ICD']['library_path']=sys.argv[2]; json.dump(j, open(sys.argv[3],'w'))" \
    "$P/root/usr/share/vulkan/icd.d/lvp_icd.json" "$lib/libvulkan_lvp.so" "$P/lvp.json"
fi
echo "export VK_ICD_FILENAMES=$P/lvp.json LD_LIBRARY_PATH=$P/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
