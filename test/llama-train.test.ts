// Fine-tuning LLaMA blocks on the tape: gradient checkpointing gives the same gradients as keeping the activations,
// with a peak of memory bounded by one block's activations; an MSE-distillation fine-tune of two blocks lowers its loss.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { F, Param, Tape } from '../src/autograd/index.js';
import { blockStack, type BlockWeights } from '../src/train/llama-block.js';
import { AdamW, Rng } from '../src/train/index.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { relErr } from './helpers.js';

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

const shape = { hidden: 32, heads: 4, kvHeads: 2, eps: 1e-5, neox: true }, mlp = 48, T = 24;

function blocks(n: number, seed: number): { weights: BlockWeights[]; params: Param[] } {
  const r = new Rng(seed), params: Param[] = [];
  const mk = (name: string, shp: number[], scale: number, offset = 0) => {
    const t = be.alloc(shp);
    be.write(t, Float32Array.from({ length: shp.reduce((a, b) => a * b) }, () => offset + scale * r.normal()));
    const p = new Param(name, t);
    params.push(p);
    return t;
  };
  const kvd = (shape.hidden / shape.heads) * shape.kvHeads, H = shape.hidden;
  const weights = Array.from({ length: n }, (_, i) => ({
    attnNorm: mk(`${i}.attn_norm`, [H], 0.1, 1), wq: mk(`${i}.q`, [H, H], 0.2), wk: mk(`${i}.k`, [kvd, H], 0.2), wv: mk(`${i}.v`, [kvd, H], 0.2), wo: mk(`${i}.o`, [H, H], 0.2),
    ffnNorm: mk(`${i}.ffn_norm`, [H], 0.1, 1), wGate: mk(`${i}.gate`, [mlp, H], 0.2), wUp: mk(`${i}.up`, [mlp, H], 0.2), wDown: mk(`${i}.down`, [H, mlp], 0.2),
  }));
  return { weights, params };
}

function ropeOn(t: Tape) {
  const { cos, sin } = ropeTables(T, shape.hidden / shape.heads, 10000, null);
  return { cos: t.tensor(cos, [T, 4]), sin: t.tensor(sin, [T, 4]), negSin: t.tensor(sin.map((v) => -v), [T, 4]) };
}

test('four blocks: checkpointed gradients equal the stored-activation ones; the step peak stays within one block\'s plus boundary tensors', async () => {
  const { weights, params } = blocks(4, 1), r = new Rng(2);
  const x = Float32Array.from({ length: T * 32 }, () => r.normal()), y = Float32Array.from({ length: T * 32 }, () => r.normal());
  // peak bytes above the inputs during forward + backward (gradient buffers included: they are allocated then)
  const run = (ck: boolean, n = 4) => {
    for (const p of params) p.dropGrad(be);
    const t = new Tape(be), rope = ropeOn(t), xi = t.tensor(x, [T, 32]), yi = t.tensor(y, [T, 32]);
    be.resetPeak();
    const before = be.bytesInUse;
    t.backward(F.mse(t, blockStack(t, xi, weights.slice(0, n), rope, shape, ck), yi));
    const peak = be.peakBytes - before;
    t.release();
    return peak;
  };
  const peakFull = run(false);
  const full = await Promise.all(params.map((p) => be.read(p.grad!)));
  const peakCk = run(true);
  for (let i = 0; i < params.length; i++) {
    const err = relErr(await be.read(params[i]!.grad!), full[i]!);
    assert.ok(err < 1e-6, `${params[i]!.name}: rel err ${err}`);
  }
  // bounded by one block's activations: one block's peak, plus the other three blocks' gradient buffers, plus per
  // block the tensors at its boundary (its saved input, its output, the incoming and the outgoing gradient)
  const peakOne = run(false, 1), gradBytes = params.slice(0, 9).reduce((a, p) => a + 4 * p.value.size, 0); // one block's 9 parameters
  const bound = peakOne + 3 * gradBytes + 4 * 4 * (T * 32 * 4);
  assert.ok(peakCk <= bound, `peak with checkpointing ${peakCk} bytes > one block's ${peakOne} + 3 x ${gradBytes} gradient + boundary tensors = ${bound}`);
  assert.ok(peakFull > bound, `without checkpointing ${peakFull} bytes, within the bound ${bound} (the check could not fail)`);
  console.log(`# peak bytes: one block ${peakOne}, four blocks ${peakFull}, four checkpointed ${peakCk} (bound ${bound})`);
});

test('fine-tuning two blocks towards a target by MSE: the loss falls by 4x in 30 AdamW steps', async () => {
  const { weights, params } = blocks(2, 3), r = new Rng(4);
  const x = Float32Array.from({ length: T * 32 }, () => r.normal()), y = Float32Array.from({ length: T * 32 }, () => r.normal());
  const opt = new AdamW(be, params, { lr: 1e-2, weightDecay: 0 });
  const losses: number[] = [];
  for (let s = 0; s < 30; s++) {
    const t = new Tape(be), rope = ropeOn(t);
    const loss = F.mse(t, blockStack(t, t.tensor(x, [T, 32]), weights, rope, shape, true), t.tensor(y, [T, 32]));
    losses.push((await be.read(loss))[0]!);
    t.backward(loss);
    opt.update();
    opt.zeroGrad();
    t.release();
  }
  assert.ok(losses[29]! < losses[0]! / 4, `loss ${losses[0]} -> ${losses[29]}`);
});
