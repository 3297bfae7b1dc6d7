/// <reference types="@webgpu/types" preserve="true" />
/**
 * Getting a WebGPU device. Browser: `navigator.gpu`. Node: the `webgpu` package (Dawn, pinned at 0.6.2: 0.5.0
 * does not load on Debian 12), first through Vulkan (a real GPU, or Mesa 25's lavapipe), then through Dawn's
 * OpenGL ES backend in compatibility mode (Mesa's llvmpipe on a machine without a GPU; needs libEGL/libGLESv2 and
 * EGL_PLATFORM=surfaceless). The device is requested with the adapter's own limits: compatibility mode's defaults
 * (128 invocations per workgroup) are too small for the kernels and would fail asynchronously.
 * `webgpu` is an optional dependency (132 MB of Dawn builds): it is imported only here, when a WebGPU backend is
 * asked for, and its absence is one line naming the package to install. Vulkan is not asked for when the Vulkan
 * loader is missing (Dawn would print its own warning); `note` says in one line which adapter was chosen and why.
 */
import { hasVulkanLoader, VULKAN_LOADER } from './vulkan-loader.js';

/** the optional dependency that provides WebGPU in Node (kept equal to package.json's optionalDependencies by a test) */
export const DAWN_PACKAGE = 'webgpu@0.6.2';
export interface GpuDeviceInfo {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** e.g. "vulkan: NVIDIA H100 80GB HBM3" or "opengles (compatibility): llvmpipe" */
  description: string;
  features: string[];
  /** the GPU object (Node: Dawn's instance); Dawn stops when it is garbage-collected, so the backend holds it */
  gpu: GPU;
  /** one line: the adapter chosen and why, e.g. "webgpu: no Vulkan loader (libvulkan.so.1); using Dawn's OpenGL ES on llvmpipe" */
  note: string;
}

export interface DeviceOptions {
  /** Node only: which Dawn backends to try, in order (default vulkan, then opengles) */
  backends?: ('vulkan' | 'opengles')[];
  /** Node only: imports the `webgpu` package (tests replace it to simulate its absence) */
  loadDawn?: () => Promise<unknown>;
  /** Node only: whether libvulkan.so.1 can be loaded (default: looked up as the dynamic linker would) */
  vulkanLoader?: () => boolean;
}

const HOW: Record<string, string> = { browser: "the browser's WebGPU", vulkan: "Dawn's Vulkan", 'opengles (compatibility)': "Dawn's OpenGL ES (compatibility mode)" };

type DawnModule = { create: (flags: string[]) => GPU; globals: object };

const LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage'] as const;

async function deviceOf(gpu: GPU, adapter: GPUAdapter, how: string, why: string[]): Promise<GpuDeviceInfo> {
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) requiredLimits[k] = adapter.limits[k];
  const features = [...adapter.features].filter((f) => f === 'shader-f16' || f === 'subgroups' || f === 'timestamp-query') as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
  const note = `webgpu: ${[...why, `using ${HOW[how] ?? how} on ${name}`].join('; ')}`;
  return { device, adapter, description: `${how}: ${name}`, features, gpu, note };
}

/** A device, or the reason there is none (one line). */
export async function acquireDevice(o: DeviceOptions = {}): Promise<GpuDeviceInfo | { reason: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? deviceOf(nav.gpu, adapter, 'browser', []) : { reason: 'navigator.gpu.requestAdapter() returned no adapter' };
  }
  const loaded = await loadDawn(o.loadDawn ?? (() => import('webgpu')));
  if ('reason' in loaded) return loaded;
  const mod = loaded.mod;
  Object.assign(globalThis, mod.globals);
  const tried: string[] = [];
  const why: string[] = [];
  for (const b of o.backends ?? ['vulkan', 'opengles']) {
    if (b === 'vulkan' && !(o.vulkanLoader ?? hasVulkanLoader)()) {
      why.push(`no Vulkan loader (${VULKAN_LOADER})`);
      continue;
    }
    if (b === 'opengles') process.env['EGL_PLATFORM'] ??= 'surfaceless';
    const gpu = mod.create(b === 'vulkan' ? ['backend=vulkan'] : ['backend=opengles']);
    const adapter = await gpu.requestAdapter(b === 'opengles' ? { featureLevel: 'compatibility' } as GPURequestAdapterOptions : { powerPreference: 'high-performance' });
    if (adapter) return deviceOf(gpu, adapter, b === 'opengles' ? 'opengles (compatibility)' : 'vulkan', why);
    tried.push(b);
    why.push(`Dawn's ${b === 'vulkan' ? 'Vulkan' : 'OpenGL ES'} has no adapter`);
  }
  return { reason: `no WebGPU adapter (${why.join('; ')}; on a machine without a GPU install Mesa: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)` };
}

/** The `webgpu` module, or one line saying it is not installed (or does not load on this platform). */
async function loadDawn(load: () => Promise<unknown>): Promise<{ mod: DawnModule } | { reason: string }> {
  try {
    return { mod: await load() as DawnModule };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const first = String(err.message ?? e).split('\n')[0];
    if (err.code === 'ERR_MODULE_NOT_FOUND' && /'webgpu'/.test(first)) return { reason: `needs the optional package webgpu (Dawn), which is not installed: npm install ${DAWN_PACKAGE}` };
    return { reason: `the webgpu package (Dawn) does not load here: ${first}` };
  }
}
