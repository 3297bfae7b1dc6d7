// A LLaMA block's training step on the WebGPU backend (skipped without an adapter) against the CPU backend on the
// same weights and data: the MSE loss, every parameter's gradient and the weights after one AdamW step agree within
// 1e-4 (relative), for one block keeping its activations and for two blocks under gradient checkpointing. The
// sequence (71) passes one 64-wide tile of the attention kernels; heads are grouped (6 query / 2 KV heads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuAndGpu } from './backends.js';
import type { Backend } from '../src/backend/backend.js';
import { F, Param, Tape } from '../src/autograd/index.js';
import { blockStack, type BlockWeights } from '../src/train/llama-block.js';
import { AdamW, Rng } from '../src/train/index.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { relErr } from './helpers.js';

const backends = cpuAndGpu(1);

const shape = { hidden: 48, heads: 6, kvHeads: 2, eps: 1e-5, neox: true }, mlp = 40, T = 71, hd = 8;
const names = ['attnNorm', 'wq', 'wk', 'wv', 'wo', 'ffnNorm', 'wGate', 'wUp', 'wDown'] as const;
const shapes: Record<(typeof names)[number], number[]> = {
  attnNorm: [48], wq: [48, 48], wk: [16, 48], wv: [16, 48], wo: [48, 48], ffnNorm: [48], wGate: [mlp, 48], wUp: [mlp, 48], wDown: [48, mlp],
};

/** the weights' values, drawn once (norm weights near 1, projections ~ N(0, 0.2^2)) */
function weightValues(blocks: number, seed: number): Float32Array[][] {
  const r = new Rng(seed);
  return Array.from({ length: blocks }, () => names.map((n) => Float32Array.from({ length: shapes[n].reduce((a, b) => a * b) },
    () => (n.endsWith('Norm') ? 1 + 0.1 * r.normal() : 0.2 * r.normal()))));
}

interface StepResult { loss: number; grads: Float32Array[]; updated: Float32Array[] }

/** one training step (forward, backward, AdamW update) on `be` */
async function step(be: Backend, values: Float32Array[][], x: Float32Array, y: Float32Array, checkpointing: boolean): Promise<StepResult> {
  const params: Param[] = [];
  const weights = values.map((vs, b) => Object.fromEntries(names.map((n, i) => {
    const t = be.alloc(shapes[n]);
    be.write(t, vs[i]!);
    params.push(new Param(`${b}.${n}`, t));
    return [n, t];
  })) as unknown as BlockWeights);
  const t = new Tape(be), { cos, sin } = ropeTables(T, hd, 10000, null);
  const rope = { cos: t.tensor(cos, [T, hd / 2]), sin: t.tensor(sin, [T, hd / 2]), negSin: t.tensor(sin.map((v) => -v), [T, hd / 2]) };
  const loss = F.mse(t, blockStack(t, t.tensor(x, [T, 48]), weights, rope, shape, checkpointing), t.tensor(y, [T, 48]));
  t.backward(loss);
  const res: StepResult = { loss: (await be.read(loss))[0]!, grads: await Promise.all(params.map((p) => be.read(p.grad!))), updated: [] };
  new AdamW(be, params, { lr: 1e-2 }).update();
  res.updated = await Promise.all(params.map((p) => be.read(p.value)));
  t.release();
  for (const p of params) { p.dropGrad(be); be.free(p.value); }
  return res;
}

for (const [blocks, checkpointing] of [[1, false], [2, true]] as const) {
  test(`${blocks} LLaMA block(s)${checkpointing ? ' under gradient checkpointing' : ''}: a WebGPU training step equals the CPU one`, async (tc) => {
    const { cpu, gpu } = backends;
    if (typeof gpu === 'string') return tc.skip(`no WebGPU adapter: ${gpu}`);
    const r = new Rng(7 + blocks), values = weightValues(blocks, 11 + blocks);
    const x = Float32Array.from({ length: T * 48 }, () => r.normal()), y = Float32Array.from({ length: T * 48 }, () => r.normal());
    const want = await step(cpu, values, x, y, checkpointing), got = await step(gpu, values, x, y, checkpointing);
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-4 * Math.abs(want.loss), `loss ${got.loss} on WebGPU vs ${want.loss} on the CPU`);
    for (let i = 0; i < want.grads.length; i++) {
      const name = `${Math.floor(i / names.length)}.${names[i % names.length]}`;
      const eg = relErr(got.grads[i]!, want.grads[i]!), eu = relErr(got.updated[i]!, want.updated[i]!);
      assert.ok(eg < 1e-4, `${name}: gradient rel err ${eg}`);
      assert.ok(eu < 1e-4, `${name}: weights after AdamW rel err ${eu}`);
    }
  });
}
