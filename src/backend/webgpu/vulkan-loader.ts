/**
 * Whether the Vulkan loader (libvulkan.so.1) can be found on Linux, checked before asking Dawn for Vulkan: Dawn
 * prints its own multi-line "Couldn't load Vulkan" warning to stderr when it is missing. The dynamic linker finds
 * a library through LD_LIBRARY_PATH, the ld.so cache (/etc/ld.so.cache names every cached library) and the
 * default directories; the same places are looked at here. Other platforms: true (Dawn reports quietly there).
 */
import { existsSync, readFileSync } from 'node:fs';

export const VULKAN_LOADER = 'libvulkan.so.1';

const DEFAULT_DIRS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];

export function hasVulkanLoader(env: Record<string, string | undefined> = process.env, platform: string = process.platform, ldCache = '/etc/ld.so.cache'): boolean {
  if (platform !== 'linux') return true;
  const dirs = [...(env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean), ...DEFAULT_DIRS];
  if (dirs.some((d) => existsSync(`${d}/${VULKAN_LOADER}`))) return true;
  try {
    return readFileSync(ldCache).includes(VULKAN_LOADER);
  } catch {
    return false;
  }
}
