// Lists the WebGPU adapters Dawn offers on this machine, with their features, for a few instance toggles.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
for (const flags of [['backend=vulkan'], ['backend=vulkan', 'enable-dawn-features=allow_unsafe_apis'], ['backend=vulkan', 'enable-dawn-features=allow_unsafe_apis,use_dxc']]) {
  const gpu = create(flags);
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  console.log(JSON.stringify(flags), a ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}: ${[...a.features].sort().join(', ')}` : 'no adapter');
}
