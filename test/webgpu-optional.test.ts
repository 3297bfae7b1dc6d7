// `webgpu` (Dawn) is an optional dependency: without it, asking for the WebGPU backend is one line naming the
// package and version to install (the version equal to package.json's optionalDependencies). The absence is
// simulated by a loader that fails as Node's import of a missing package does. The Vulkan loader is looked up
// before Dawn is asked for Vulkan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquireDevice, DAWN_PACKAGE } from '../src/backend/webgpu/device.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import { InputError } from '../src/util/errors.js';
import { hasVulkanLoader } from '../src/backend/webgpu/vulkan-loader.js';
import { repoRoot } from './helpers.js';
import { tempDir } from './temp-dir.js';

/** what `import('webgpu')` throws where the package is not installed */
async function missing(): Promise<never> {
  const e = new Error(`Cannot find package 'webgpu' imported from ${path.join(repoRoot, 'dist/src/backend/webgpu/device.js')}`) as Error & { code: string };
  e.code = 'ERR_MODULE_NOT_FOUND';
  throw e;
}

test('the install hint names the version in package.json', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string>; dependencies: Record<string, string> };
  assert.equal(DAWN_PACKAGE, `webgpu@${pkg.optionalDependencies?.['webgpu']}`);
  assert.equal(pkg.dependencies['webgpu'], undefined, 'webgpu must not be a regular dependency');
});

test('without the webgpu package: one line saying what to install', async () => {
  const r = await acquireDevice({ loadDawn: missing });
  assert.deepEqual(r, { reason: 'needs the optional package webgpu (Dawn), which is not installed: npm install webgpu@0.6.2' });
  await assert.rejects(WebGpuBackend.create({ loadDawn: missing }), (e: Error) => e instanceof InputError && e.message === '--backend webgpu: needs the optional package webgpu (Dawn), which is not installed: npm install webgpu@0.6.2');
});

test('a webgpu package that fails to load for another reason is reported as such', async () => {
  const r = await acquireDevice({ loadDawn: async () => { throw new Error('dawn.node: wrong ELF class\nmore'); } });
  assert.deepEqual(r, { reason: 'the webgpu package (Dawn) does not load here: dawn.node: wrong ELF class' });
});

test('the Vulkan loader is found where the dynamic linker looks: LD_LIBRARY_PATH and the ld.so cache', () => {
  const dir = tempDir('lithe-vk-');
  writeFileSync(path.join(dir, 'libvulkan.so.1'), '');
  assert.equal(hasVulkanLoader({ LD_LIBRARY_PATH: `/nonexistent:${dir}` }, 'linux', '/nonexistent'), true);
  const cache = path.join(dir, 'ld.so.cache');
  writeFileSync(cache, Buffer.from('\0libfoo.so.2\0libvulkan.so.1\0/usr/lib/x/libvulkan.so.1\0'));
  assert.equal(hasVulkanLoader({}, 'linux', cache), true);
  assert.equal(hasVulkanLoader({}, 'darwin', '/nonexistent'), true, 'not checked outside Linux');
});
