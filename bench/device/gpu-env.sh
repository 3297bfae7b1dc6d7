# Sourced by the device scripts (webgpu.sh, gpu-sparse.sh, train.sh): unpacks the carried Vulkan/GL loaders (.gl/*.deb)
# and points Vulkan at the NVIDIA driver's manifest.
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
done
