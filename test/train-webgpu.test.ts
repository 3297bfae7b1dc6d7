// Training on WebGPU: the MLP's steps (linear, relu, cross-entropy, their gradients, AdamW) on a WebGPU adapter give
// the CPU backend's losses; a network whose backward ops lack WGSL is refused with the ops named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { splitSeeded, trainClassifier, Rng, type LabelledImages } from '../src/train/index.js';
import { buildTrainable } from '../src/train/spec-net.js';
import { OptionError } from '../src/util/errors.js';

let cpu: CpuBackend, gpu: WebGpuBackend | string;
before(async () => { cpu = await CpuBackend.create({ threads: 2 }); gpu = await WebGpuBackend.tryCreate(); });
after(async () => { await cpu.dispose(); if (typeof gpu !== 'string') await gpu.dispose(); });

function stripes(n: number): LabelledImages {
  const r = new Rng(4), images = new Float32Array(n * 64), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = r.int(3);
    for (let j = 0; j < 64; j++) images[i * 64 + j] = r.uniform() * 0.3 + ((j % 8) % 3 === labels[i] ? 0.7 : 0);
  }
  return { images, labels, shape: [1, 8, 8], classes: 3, source: 'stripes' };
}

test('MLP training steps on WebGPU give the CPU losses (relative 1e-3 over 6 AdamW steps)', async (t) => {
  if (typeof gpu === 'string') return t.skip(`no WebGPU adapter: ${gpu}`);
  const { train, heldOut } = splitSeeded(stripes(120), 96, 1);
  const run = (be: Backend) => trainClassifier(be, buildTrainable(be, 'mlp', [1, 8, 8], 3, 7), train, heldOut, { epochs: 1, batch: 16, lr: 1e-3, optimizer: 'adamw', seed: 2 });
  const a = await run(cpu), b = await run(gpu);
  assert.equal(b.losses.length, 6);
  a.losses.forEach((l, i) => assert.ok(Math.abs(b.losses[i]! - l) <= 1e-3 * Math.abs(l), `step ${i + 1}: webgpu ${b.losses[i]} vs cpu ${l}`));
  assert.ok(a.losses[5]! < a.losses[0]!);
});

test('LeNet training on WebGPU is refused naming the backward ops without WGSL', async (t) => {
  if (typeof gpu === 'string') return t.skip(`no WebGPU adapter: ${gpu}`);
  assert.throws(() => buildTrainable(gpu as WebGpuBackend, 'lenet', [1, 28, 28], 10, 0), (e: unknown) => e instanceof OptionError && /needs conv2d_backward, max_pool2d_backward/.test(e.message));
});
