/**
 * Getting a WebGPU device. Browser: `navigator.gpu`. Node: the `webgpu` package (Dawn, pinned at 0.6.2: 0.5.0
 * does not load on Debian 12), first through Vulkan (a real GPU, or Mesa 25's lavapipe), then through Dawn's
 * OpenGL ES backend in compatibility mode (Mesa's llvmpipe on a machine without a GPU; needs libEGL/libGLESv2 and
 * EGL_PLATFORM=surfaceless). The device is requested with the adapter's own limits: compatibility mode's defaults
 * (128 invocations per workgroup) are too small for the kernels and would fail asynchronously.
 */
export interface GpuDeviceInfo {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** e.g. "vulkan: NVIDIA H100 80GB HBM3" or "opengles (compatibility): llvmpipe" */
  description: string;
  features: string[];
  /** the GPU object (Node: Dawn's instance); Dawn stops when it is garbage-collected, so the backend holds it */
  gpu: GPU;
}

export interface DeviceOptions {
  /** Node only: which Dawn backends to try, in order (default vulkan, then opengles) */
  backends?: ('vulkan' | 'opengles')[];
}

const LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage'] as const;

async function deviceOf(gpu: GPU, adapter: GPUAdapter, how: string): Promise<GpuDeviceInfo> {
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) requiredLimits[k] = adapter.limits[k];
  const features = [...adapter.features].filter((f) => f === 'shader-f16' || f === 'subgroups' || f === 'timestamp-query') as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { device, adapter, description: `${how}: ${name}`, features, gpu };
}

/** A device, or the reason there is none (one line). */
export async function acquireDevice(o: DeviceOptions = {}): Promise<GpuDeviceInfo | { reason: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? deviceOf(nav.gpu, adapter, 'browser') : { reason: 'navigator.gpu.requestAdapter() returned no adapter' };
  }
  let mod: { create: (flags: string[]) => GPU; globals: object };
  try {
    mod = await import('webgpu') as unknown as typeof mod;
  } catch (e) {
    return { reason: `the webgpu package (Dawn) does not load here: ${(e as Error).message.split('\n')[0]}` };
  }
  Object.assign(globalThis, mod.globals);
  const tried: string[] = [];
  for (const b of o.backends ?? ['vulkan', 'opengles']) {
    if (b === 'opengles') process.env['EGL_PLATFORM'] ??= 'surfaceless';
    const gpu = mod.create(b === 'vulkan' ? ['backend=vulkan'] : ['backend=opengles']);
    const adapter = await gpu.requestAdapter(b === 'opengles' ? { featureLevel: 'compatibility' } as GPURequestAdapterOptions : { powerPreference: 'high-performance' });
    if (adapter) return deviceOf(gpu, adapter, b === 'opengles' ? 'opengles (compatibility)' : 'vulkan');
    tried.push(b);
  }
  return { reason: `no WebGPU adapter (tried Dawn ${tried.join(', ')}; on a machine without a GPU install Mesa: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)` };
}
