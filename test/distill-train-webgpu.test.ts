// A small transformer-style head trained by distillation on the WebGPU backend (skipped without an adapter) against
// the CPU backend on the same weights and data: layer norm (with bias) -> linear -> GELU -> dropout -> linear gives
// student logits, and the loss is the KL distillation loss against fixed teacher logits (T = 2) plus the MSE of the
// log-softmax of the logits and of the softmax of their groups of 7 against targets, so every WGSL training op of that path runs forward
// and backward (layer_norm, gelu, dropout, log_softmax, softmax, kl_div and their gradients). The loss and every
// parameter's gradient agree within 1e-4 (relative). Sizes are odd (rows 37, features 41, hidden 73, classes 259).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuAndGpu } from './backends.js';
import type { Backend } from '../src/backend/backend.js';
import { F, Param, Tape } from '../src/autograd/index.js';
import { Rng } from '../src/train/index.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { relErr } from './helpers.js';

const backends = cpuAndGpu(1);

const rows = 37, d = 41, hidden = 73, classes = 259;
const shapes = { lnW: [d], lnB: [d], w1: [hidden, d], b1: [hidden], w2: [classes, hidden], b2: [classes] } as const;
const names = Object.keys(shapes) as (keyof typeof shapes)[];

interface Data { weights: Float32Array[]; x: Float32Array; teacher: Float32Array; a: Float32Array; b: Float32Array }

function data(seed: number): Data {
  const r = new Rng(seed), normal = (n: number, s: number, mean = 0) => Float32Array.from({ length: n }, () => mean + s * r.normal());
  const size = (n: keyof typeof shapes) => shapes[n].reduce((p: number, q: number) => p * q, 1);
  const weights = names.map((n) => (n === 'lnW' ? normal(size(n), 0.1, 1) : normal(size(n), n.startsWith('w') ? 0.3 : 0.1)));
  return { weights, x: normal(rows * d, 2, 1), teacher: normal(rows * classes, 3), a: normal(rows * classes, 1, -5.5), b: normal(rows * classes, 0.1, 1 / 7) };
}

/** forward and backward of one step on `be`: the loss and each parameter's gradient */
async function step(be: Backend, v: Data): Promise<{ loss: number; grads: Float32Array[] }> {
  const params = names.map((n, i) => {
    const t = be.alloc(shapes[n]);
    be.write(t, v.weights[i]!);
    return new Param(n, t);
  });
  const [lnW, lnB, w1, b1, w2, b2] = params.map((p) => p.value) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const t = new Tape(be);
  const h = F.dropout(t, F.gelu(t, F.linear(t, F.layerNorm(t, t.tensor(v.x, [rows, d]), lnW, lnB, 1e-5), w1, b1)), 0.2, 12345);
  const logits = F.linear(t, h, w2, b2);
  const kl = F.klDiv(t, logits, t.tensor(v.teacher, [rows, classes]), 2);
  const ls = F.mse(t, F.logSoftmax(t, logits), t.tensor(v.a, [rows, classes]));
  // the softmax over groups of 7 logits (259 = 37 x 7): probabilities near 1/7 give its gradient weight in the sum
  const sm = F.mse(t, F.softmax(t, F.reshape(t, logits, [rows * 37, 7])), t.tensor(v.b, [rows * 37, 7]));
  const loss = F.add(t, F.add(t, kl, ls), sm);
  t.backward(loss);
  const res = { loss: (await be.read(loss))[0]!, grads: await Promise.all(params.map((p) => be.read(p.grad!))) };
  t.release();
  for (const p of params) { p.dropGrad(be); be.free(p.value); }
  return res;
}

test('layer norm, GELU, dropout, log-softmax, softmax and KL: a WebGPU step gives the CPU loss and gradients (1e-4)', async (tc) => {
  const { cpu, gpu } = backends;
  if (typeof gpu === 'string') return tc.skip(`no WebGPU adapter: ${gpu}`);
  const v = data(5);
  const want = await step(cpu, v), got = await step(gpu, v);
  assert.ok(Number.isFinite(want.loss) && want.loss > 0, `CPU loss ${want.loss}`);
  assert.ok(Math.abs(got.loss - want.loss) <= 1e-4 * Math.abs(want.loss), `loss ${got.loss} on WebGPU vs ${want.loss} on the CPU`);
  for (let i = 0; i < names.length; i++) {
    const g = want.grads[i]!;
    assert.ok(g.some((x) => x !== 0), `${names[i]}: the CPU gradient is all zeros`);
    const e = relErr(got.grads[i]!, g);
    assert.ok(e < 1e-4, `${names[i]}: gradient rel err ${e}`);
  }
});
