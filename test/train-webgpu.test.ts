// Training on WebGPU: the MLP's steps (linear, relu, cross-entropy, their gradients, AdamW) on a WebGPU adapter give
// the CPU backend's losses; one LeNet-5 step (conv2d, max pooling and their gradients besides) gives the CPU's loss
// and parameter gradients, and each backend's AdamW update equals PyTorch's first-step formula applied to that
// backend's own gradients (AdamW's g/(|g|+eps) turns a tiny gradient difference into a step of up to lr, so the two
// backends' updated weights are not compared with each other); a network whose backward ops lack WGSL is refused with the ops named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { AdamW, splitSeeded, trainClassifier, Rng, type LabelledImages } from '../src/train/index.js';
import { buildTrainable, checkTrainable } from '../src/train/spec-net.js';
import { F, Tape } from '../src/autograd/index.js';
import { OptionError } from '../src/util/errors.js';
import * as K from '../src/kernels/index.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

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

/** PyTorch's AdamW at step 1 (m^ = g, v^ = g^2): p (1 - lr wd) - lr g / (|g| + eps), in float64 */
function adamwFirstStep(p: Float32Array, g: Float32Array, lr: number, wd: number, eps: number): Float64Array {
  return Float64Array.from(p, (v, i) => v * (1 - lr * wd) - (lr * g[i]!) / (Math.abs(g[i]!) + eps));
}

test('one LeNet-5 step on WebGPU gives the CPU loss and parameter gradients (relative 1e-4), and an AdamW update by the formula', async (t) => {
  if (typeof gpu === 'string') return t.skip(`no WebGPU adapter: ${gpu}`);
  // batch 9: 9 x 784 patch rows in the first conv, so its WebGPU weight gradient runs split in slices
  const r = rng(), B = 9, x = randn(B * 784, r), y = Int32Array.from({ length: B }, () => Math.floor(r() * 10));
  const step = async (be: Backend) => {
    const net = buildTrainable(be, 'lenet', [1, 28, 28], 10, 5), opt = new AdamW(be, net.params, { lr: 1e-2 }), tape = new Tape(be);
    const loss = F.crossEntropy(tape, net.forward(tape, tape.tensor(x, [B, 1, 28, 28]), true), tape.tensor(y, [B]));
    tape.backward(loss);
    const out = { loss: (await be.read(loss))[0]!, grads: new Map<string, Float32Array>(), before: new Map<string, Float32Array>(), after: new Map<string, Float32Array>() };
    for (const p of net.params) { out.grads.set(p.name, await be.read(p.grad!)); out.before.set(p.name, await be.read(p.value)); }
    opt.update();
    for (const p of net.params) out.after.set(p.name, await be.read(p.value));
    tape.release();
    return out;
  };
  const a = await step(cpu), b = await step(gpu);
  assert.ok(Math.abs(b.loss - a.loss) <= 1e-4 * Math.abs(a.loss), `loss: webgpu ${b.loss} vs cpu ${a.loss} ${seedNote()}`);
  assert.equal(a.grads.size, 10); // 5 layers' weights and biases
  for (const [name, g] of a.grads) {
    assert.ok(relErr(b.grads.get(name)!, g) <= 1e-4, `gradient of ${name}: rel err ${relErr(b.grads.get(name)!, g)} ${seedNote()}`);
    for (const [be, o] of [['cpu', a], ['webgpu', b]] as const) {
      const want = adamwFirstStep(o.before.get(name)!, o.grads.get(name)!, 1e-2, 1e-2, 1e-8), e = relErr(o.after.get(name)!, want);
      assert.ok(e <= 1e-6, `${name} after AdamW on ${be}: rel err ${e} from the formula ${seedNote()}`);
    }
  }
});

test('a network whose ops a backend lacks is refused, the ops named', () => {
  // every layer of the spec format has WGSL now: a backend that lacks two of them stands in
  const lacking = { description: 'a backend without batch norm', supports: (op: K.OpDef<unknown>) => op !== K.BATCH_NORM && op !== K.BATCH_NORM_BACKWARD } as unknown as Backend;
  const spec = { input: [1, 8, 8] as [number, number, number], net: { type: 'sequential' as const, layers: [{ type: 'conv2d' as const, inChannels: 1, outChannels: 2, kernel: [3, 3] as [number, number] },
    { type: 'batchnorm2d' as const, channels: 2 }, { type: 'flatten' as const }, { type: 'linear' as const, inFeatures: 72, outFeatures: 3 }] } };
  assert.throws(() => checkTrainable(lacking, spec, 'bn-net'), (e: unknown) => e instanceof OptionError && /training bn-net on a backend without batch norm needs batch_norm, batch_norm_backward/.test(e.message));
  if (typeof gpu !== 'string') checkTrainable(gpu, spec, 'bn-net'); // WebGPU has them all
});
