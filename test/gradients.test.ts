// Every differentiable op's gradient, from one table of cases: (1) the float64 twin's backward equals central finite
// differences of the twin's forward (relative error < 1e-6), (2) the kernels' gradients through the tape (CPU at 1
// and 3 threads, WebGPU when an adapter exists and implements the case's ops) equal the twin's within 1e-4.
// Inputs are fresh random values at odd sizes; the objective is sum(out * R) for a random R (the backward seed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import * as K from '../src/kernels/index.js';
import { F, Param, Tape } from '../src/autograd/index.js';
import type { Tensor } from '../src/tensor/tensor.js';
import * as ref from './reference.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();

interface Input {
  shape: number[];
  /** differentiated (a Param); else a constant */
  diff: boolean;
  /** i32 values in [0, int) (labels, ids) instead of normal floats */
  int?: number;
  scale?: number;
}
interface GradCase {
  name: string;
  inputs: Input[];
  /** ops the tape runs (the case runs on a backend that supports them all) */
  ops: K.OpDef<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  forward(x: Float64Array[]): ArrayLike<number>;
  /** gradients of sum(forward(x) * dy) for the differentiated inputs, in order */
  backward(x: Float64Array[], dy: Float64Array): Float64Array[];
  run(t: Tape, x: Tensor[]): Tensor;
  /** no finite-difference check (a straight-through estimator is not the derivative) */
  noFd?: boolean;
}

const cases: GradCase[] = [];
const add = (c: GradCase) => cases.push(c);

for (const [M, N, Kd] of [[13, 11, 9], [1, 7, 5], [6, 19, 33]] as const) {
  add({
    name: `linear ${M}x${N}x${Kd} + bias`, ops: [K.LINEAR, K.GEMM, K.COL_SUM],
    inputs: [{ shape: [M, Kd], diff: true }, { shape: [N, Kd], diff: true }, { shape: [N], diff: true }],
    forward: ([x, w, b]) => ref.gemmRef(x!, w!, M, N, Kd, false, true).map((v, i) => v + b![i % N]!),
    backward: ([x, w], dy) => [ref.gemmRef(dy, w!, M, Kd, N, false, false), ref.gemmRef(dy, x!, N, Kd, M, true, false), ref.colSumRef(dy, M, N)],
    run: (t, [x, w, b]) => F.linear(t, x!, w!, b!),
  });
}
add({
  name: 'linear, frozen weight (gradient for x only)', ops: [K.LINEAR, K.GEMM],
  inputs: [{ shape: [5, 9], diff: true }, { shape: [7, 9], diff: false }],
  forward: ([x, w]) => ref.gemmRef(x!, w!, 5, 7, 9, false, true),
  backward: ([, w], dy) => [ref.gemmRef(dy, w!, 5, 9, 7, false, false)],
  run: (t, [x, w]) => F.linear(t, x!, w!, null),
});
{
  // gradients that reach one tensor from two ops: the first writes the accumulator, the second must add to it
  const [M, Kd, H, N] = [5, 7, 6, 3];
  const plus = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]!);
  add({
    name: 'an intermediate read by two linears (x -> h -> h a^T + h b^T)', ops: [K.LINEAR, K.GEMM, K.ADD, K.COPY_COLUMNS],
    inputs: [{ shape: [M, Kd], diff: true }, { shape: [H, Kd], diff: true }, { shape: [N, H], diff: true }, { shape: [N, H], diff: true }],
    forward: ([x, w, a, b]) => {
      const h = ref.gemmRef(x!, w!, M, H, Kd, false, true);
      return plus(ref.gemmRef(h, a!, M, N, H, false, true), ref.gemmRef(h, b!, M, N, H, false, true));
    },
    backward: ([x, w, a, b], dy) => {
      const h = ref.gemmRef(x!, w!, M, H, Kd, false, true), dh = plus(ref.gemmRef(dy, a!, M, H, N, false, false), ref.gemmRef(dy, b!, M, H, N, false, false));
      const dab = ref.gemmRef(dy, h, N, H, M, true, false);
      return [ref.gemmRef(dh, w!, M, Kd, H, false, false), ref.gemmRef(dh, x!, H, Kd, M, true, false), dab, dab];
    },
    run: (t, [x, w, a, b]) => { const h = F.linear(t, x!, w!, null); return F.add(t, F.linear(t, h, a!, null), F.linear(t, h, b!, null)); },
  });
  add({
    name: 'a weight used by two linears (x w^T w^T)', ops: [K.LINEAR, K.GEMM],
    inputs: [{ shape: [M, Kd], diff: true }, { shape: [Kd, Kd], diff: true }],
    forward: ([x, w]) => ref.gemmRef(ref.gemmRef(x!, w!, M, Kd, Kd, false, true), w!, M, Kd, Kd, false, true),
    backward: ([x, w], dy) => {
      const h = ref.gemmRef(x!, w!, M, Kd, Kd, false, true), dh = ref.gemmRef(dy, w!, M, Kd, Kd, false, false);
      return [ref.gemmRef(dh, w!, M, Kd, Kd, false, false), plus(ref.gemmRef(dy, h, Kd, Kd, M, true, false), ref.gemmRef(dh, x!, Kd, Kd, M, true, false))];
    },
    run: (t, [x, w]) => F.linear(t, F.linear(t, x!, w!, null), w!, null),
  });
}
add({
  name: 'matmul 7x5 . 5x9', ops: [K.GEMM],
  inputs: [{ shape: [7, 5], diff: true }, { shape: [5, 9], diff: true }],
  forward: ([a, b]) => ref.gemmRef(a!, b!, 7, 9, 5, false, false),
  backward: ([a, b], dy) => [ref.gemmRef(dy, b!, 7, 5, 9, false, true), ref.gemmRef(a!, dy, 5, 9, 7, true, false)],
  run: (t, [a, b]) => F.matmul(t, a!, b!),
});
add({
  name: 'add, one input used twice', ops: [K.ADD, K.COPY_COLUMNS],
  inputs: [{ shape: [3, 37], diff: true }, { shape: [3, 37], diff: true }],
  forward: ([a, b]) => a!.map((v, i) => 2 * v + b![i]!),
  backward: (_, dy) => [dy.map((v) => 2 * v), dy.slice()],
  run: (t, [a, b]) => F.add(t, F.add(t, a!, b!), a!),
});
add({
  name: 'gelu n=301', ops: [K.GELU, K.GELU_BACKWARD], inputs: [{ shape: [301], diff: true, scale: 2 }],
  forward: ([x]) => ref.geluRef(x!), backward: ([x], dy) => [ref.geluBackwardRef(x!, dy)], run: (t, [x]) => F.gelu(t, x!),
});
add({
  name: 'silu_mul n=257', ops: [K.SILU_MUL, K.SILU_MUL_BACKWARD], inputs: [{ shape: [257], diff: true, scale: 3 }, { shape: [257], diff: true }],
  forward: ([g, u]) => ref.siluMulF64Ref(g!, u!),
  backward: ([g, u], dy) => { const b = ref.siluMulBackwardRef(g!, u!, dy); return [b.dg, b.du]; },
  run: (t, [g, u]) => F.siluMul(t, g!, u!),
});
add({
  name: 'softmax 5x23', ops: [K.SOFTMAX, K.COPY_COLUMNS, K.SOFTMAX_BACKWARD], inputs: [{ shape: [5, 23], diff: true, scale: 2 }],
  forward: ([x]) => ref.softmaxF64Ref(x!, 23), backward: ([x], dy) => [ref.softmaxBackwardRef(ref.softmaxF64Ref(x!, 23), dy, 23)],
  run: (t, [x]) => F.softmax(t, x!),
});
add({
  name: 'log_softmax 7x19', ops: [K.LOG_SOFTMAX, K.LOG_SOFTMAX_BACKWARD], inputs: [{ shape: [7, 19], diff: true, scale: 3 }],
  forward: ([x]) => ref.logSoftmaxRef(x!, 19), backward: ([x], dy) => [ref.logSoftmaxBackwardRef(ref.logSoftmaxRef(x!, 19), dy, 19)],
  run: (t, [x]) => F.logSoftmax(t, x!),
});
add({
  name: 'cross_entropy 9 rows x 13 classes', ops: [K.CROSS_ENTROPY, K.CROSS_ENTROPY_BACKWARD],
  inputs: [{ shape: [9, 13], diff: true, scale: 3 }, { shape: [9], diff: false, int: 13 }],
  forward: ([x, l]) => [ref.crossEntropyRef(x!, l!, 13)], backward: ([x, l], dy) => [ref.crossEntropyBackwardRef(x!, l!, 13, dy[0]!)],
  run: (t, [x, l]) => F.crossEntropy(t, x!, l!),
});
add({
  name: 'mse n=211', ops: [K.MSE, K.MSE_BACKWARD], inputs: [{ shape: [211], diff: true }, { shape: [211], diff: true }],
  forward: ([a, b]) => [ref.mseRef(a!, b!)], backward: ([a, b], dy) => { const g = ref.mseBackwardRef(a!, b!, dy[0]!); return [g.da, g.db]; },
  run: (t, [a, b]) => F.mse(t, a!, b!),
});
add({
  name: 'kl_div T=3, 6 rows x 11', ops: [K.KL_DIV, K.KL_DIV_BACKWARD], inputs: [{ shape: [6, 11], diff: true, scale: 4 }, { shape: [6, 11], diff: false, scale: 4 }],
  forward: ([s, t]) => [ref.klDivRef(s!, t!, 11, 3)], backward: ([s, t], dy) => [ref.klDivBackwardRef(s!, t!, 11, 3, dy[0]!)],
  run: (t, [s, te]) => F.klDiv(t, s!, te!, 3),
});
add({
  name: 'rmsnorm 5x37', ops: [K.RMS_NORM, K.RMS_NORM_BACKWARD], inputs: [{ shape: [5, 37], diff: true, scale: 2 }, { shape: [37], diff: true }],
  forward: ([x, w]) => ref.rmsnormF64Ref(x!, w!, 1e-5),
  backward: ([x, w], dy) => { const g = ref.rmsnormBackwardRef(x!, w!, 1e-5, dy); return [g.dx, g.dw]; },
  run: (t, [x, w]) => F.rmsnorm(t, x!, w!, 1e-5),
});
add({
  name: 'embed 11 ids (repeats) of a 7x13 table', ops: [K.EMBED, K.EMBED_BACKWARD], inputs: [{ shape: [7, 13], diff: true }, { shape: [11], diff: false, int: 7 }],
  forward: ([tb, ids]) => Float64Array.from({ length: 11 * 13 }, (_, i) => tb![ids![Math.floor(i / 13)]! * 13 + (i % 13)]!),
  backward: ([, ids], dy) => [ref.embedBackwardRef(ids!, dy, 7, 13)],
  run: (t, [tb, ids]) => F.embed(t, tb!, ids!),
});
add({
  name: 'dropout p=0.3 n=333', ops: [K.DROPOUT], inputs: [{ shape: [333], diff: true }],
  forward: ([x]) => ref.dropoutRef(x!, 0.3, 1234), backward: (_, dy) => [ref.dropoutRef(dy, 0.3, 1234)],
  run: (t, [x]) => F.dropout(t, x!, 0.3, 1234),
});
add({
  name: 'concat [3,5] [3,8] then slice columns 4..10', ops: [K.COPY_COLUMNS], inputs: [{ shape: [3, 5], diff: true }, { shape: [3, 8], diff: true }],
  forward: ([a, b]) => Float64Array.from({ length: 18 }, (_, i) => { const row = Math.floor(i / 6), c = 4 + (i % 6); return c < 5 ? a![row * 5 + c]! : b![row * 8 + c - 5]!; }),
  backward: (_, dy) => {
    const da = new Float64Array(15), db = new Float64Array(24);
    for (let i = 0; i < 18; i++) { const row = Math.floor(i / 6), c = 4 + (i % 6); if (c < 5) da[row * 5 + c] = dy[i]!; else db[row * 8 + c - 5] = dy[i]!; }
    return [da, db];
  },
  run: (t, [a, b]) => F.slice(t, F.concat(t, [a!, b!]), 4, 6),
});
add({
  name: 'fake_quant_ste int4 (gradient passes straight through)', ops: [K.FAKE_QUANT, K.COPY_COLUMNS, K.ADD], noFd: true, inputs: [{ shape: [3, 40], diff: true }],
  forward: ([x]) => ref.fakeQuantRef(Float32Array.from(x!), { n: 40, group: 20, bits: 4, asym: true, clip: 1 }),
  backward: (_, dy) => [dy.slice()],
  run: (t, [x]) => F.fakeQuantSTE(t, x!, { n: 40, group: 20, bits: 4, asym: true, clip: 1 }),
});

for (const train of [true, false]) {
  const [N, C, S] = [3, 5, 7], rm = Float64Array.from({ length: C }, (_, i) => 0.1 * i - 0.2), rv = Float64Array.from({ length: C }, (_, i) => 0.5 + 0.25 * i);
  add({
    name: `batch_norm ${train ? 'train' : 'eval'} [3,5,7]`, ops: [K.BATCH_NORM, K.BATCH_NORM_BACKWARD],
    inputs: [{ shape: [N, C, S], diff: true, scale: 2 }, { shape: [C], diff: true }, { shape: [C], diff: true }],
    forward: ([x, g, b]) => ref.batchNormRef(x!, g!, b!, rm, rv, N, C, S, train, 0.1, 1e-5).out,
    backward: ([x, g, b], dy) => {
      const f = ref.batchNormRef(x!, g!, b!, rm, rv, N, C, S, train, 0.1, 1e-5), d = ref.batchNormBackwardRef(x!, g!, f.mean, f.invstd, dy, N, C, S, train);
      return [d.dx, d.dgamma, d.dbeta];
    },
    run: (t, [x, g, b]) => {
      const m = t.tensor(Float32Array.from(rm), [C]), v = t.tensor(Float32Array.from(rv), [C]);
      return F.batchNorm(t, x!, g!, b!, m, v, train);
    },
  });
}

for (const [T, pos0, window] of [[7, 0, 0], [5, 3, 4]] as const) {
  const p = { T, nHeads: 4, nKVHeads: 2, headDim: 8, pos0, window, scale: 0.3 }, S = pos0 + T;
  add({
    name: `attention GQA 4/2 heads T=${T} pos0=${pos0} window=${window}`, ops: [K.ATTENTION, K.ATTENTION_BACKWARD],
    inputs: [{ shape: [T, 32], diff: true }, { shape: [S, 16], diff: true }, { shape: [S, 16], diff: true }],
    forward: ([q, k, v]) => ref.attentionF64Ref(q!, k!, v!, p),
    backward: ([q, k, v], dy) => { const g = ref.attentionBackwardRef(q!, k!, v!, p, dy); return [g.dq, g.dk, g.dv]; },
    run: (t, [q, k, v]) => F.attention(t, q!, k!, v!, p),
  });
}
// non-causal (every query sees all S keys), T != S both ways
for (const [T, S] of [[5, 7], [6, 3]] as const) {
  const p = { T, nHeads: 4, nKVHeads: 2, headDim: 8, pos0: 0, window: 0, scale: 0.3, causal: false };
  add({
    name: `attention non-causal GQA 4/2 heads T=${T} S=${S}`, ops: [K.ATTENTION, K.ATTENTION_BACKWARD],
    inputs: [{ shape: [T, 32], diff: true }, { shape: [S, 16], diff: true }, { shape: [S, 16], diff: true }],
    forward: ([q, k, v]) => ref.attentionF64Ref(q!, k!, v!, p),
    backward: ([q, k, v], dy) => { const g = ref.attentionBackwardRef(q!, k!, v!, p, dy); return [g.dq, g.dk, g.dv]; },
    run: (t, [q, k, v]) => F.attention(t, q!, k!, v!, p),
  });
}
for (const neox of [true, false]) {
  const p = { T: 5, heads: 3, headDim: 6, pos0: 2, neox }, stride = 20;
  const { cos, sin } = ropeTables(16, 6, 10000, null);
  add({
    name: `rope neox=${neox}, 5 tokens of 3 heads in rows of 20`, ops: [K.ROPE, K.COPY_COLUMNS, K.ADD],
    inputs: [{ shape: [5, stride], diff: true }],
    // twin in float64: the rotation of each pair by the table's angle
    forward: ([x]) => ropeF64(x!, cos, sin, p, stride),
    backward: (_, dy) => [ropeF64(dy, cos, sin.map((v) => -v), p, stride)],
    run: (t, [x]) => F.rope(t, x!, { cos: t.tensor(cos, [16, 3]), sin: t.tensor(sin, [16, 3]), negSin: t.tensor(sin.map((v) => -v), [16, 3]) }, p),
  });
}

function ropeF64(x: ArrayLike<number>, cos: Float32Array, sin: Float32Array, p: { T: number; heads: number; headDim: number; pos0: number; neox: boolean }, stride: number): Float64Array {
  const y = Float64Array.from(x), half = p.headDim / 2;
  for (let t = 0; t < p.T; t++) for (let h = 0; h < p.heads; h++) for (let i = 0; i < half; i++) {
    const base = t * stride + h * p.headDim, c = cos[(p.pos0 + t) * half + i]!, s = sin[(p.pos0 + t) * half + i]!;
    const ia = p.neox ? base + i : base + 2 * i, ib = p.neox ? base + i + half : base + 2 * i + 1, a = x[ia]!, b = x[ib]!;
    y[ia] = a * c - b * s;
    y[ib] = b * c + a * s;
  }
  return y;
}

add({
  name: 'relu n=203', ops: [K.RELU, K.RELU_BACKWARD], inputs: [{ shape: [203], diff: true }],
  forward: ([x]) => x!.map((v) => Math.max(v, 0)), backward: ([x], dy) => [x!.map((v, i) => (v > 0 ? dy[i]! : 0))], run: (t, [x]) => F.relu(t, x!),
});
for (const g of [
  { N: 2, C: 3, H: 7, W: 6, O: 4, kh: 3, kw: 2, stride: [1, 1], dilation: [1, 1], pad: [1, 0, 1, 1], groups: 1 },
  { N: 3, C: 4, H: 9, W: 8, O: 6, kh: 3, kw: 3, stride: [2, 1], dilation: [1, 2], pad: [1, 2, 0, 1], groups: 2 },
  { N: 2, C: 3, H: 5, W: 7, O: 3, kh: 3, kw: 3, stride: [1, 2], dilation: [1, 1], pad: [1, 1, 1, 1], groups: 3 },
] as ref.ConvGeometry[]) {
  const [OH, OW] = ref.convOut(g), p = { kernel: [g.kh, g.kw], stride: g.stride, dilation: g.dilation, pad: g.pad, groups: g.groups } as K.Conv2dParams;
  add({
    name: `conv2d [${g.N},${g.C},${g.H},${g.W}] -> ${g.O}x${OH}x${OW} kernel ${g.kh}x${g.kw} stride ${g.stride} dilation ${g.dilation} groups ${g.groups}`, ops: [K.CONV2D, K.CONV2D_BACKWARD],
    inputs: [{ shape: [g.N, g.C, g.H, g.W], diff: true }, { shape: [g.O, g.C / g.groups, g.kh, g.kw], diff: true }, { shape: [g.O], diff: true }],
    forward: ([x, w, b]) => ref.conv2dF64Ref(x!, w!, b!, g),
    backward: ([x, w], dy) => { const d = ref.conv2dBackwardRef(x!, w!, g, dy); return [d.dx, d.dw, d.db]; },
    run: (t, [x, w, b]) => F.conv2d(t, x!, w!, b!, p),
  });
}
add({
  name: 'conv1d (depthwise, dilation 2, padding 2) through conv2d_backward', ops: [K.CONV1D, K.CONV2D_BACKWARD],
  inputs: [{ shape: [2, 4, 11], diff: true }, { shape: [4, 1, 3], diff: true }],
  forward: ([x, w]) => ref.conv2dF64Ref(x!, w!, null, { N: 2, C: 4, H: 1, W: 11, O: 4, kh: 1, kw: 3, stride: [1, 1], dilation: [1, 2], pad: [0, 2, 0, 2], groups: 4 }),
  backward: ([x, w], dy) => { const d = ref.conv2dBackwardRef(x!, w!, { N: 2, C: 4, H: 1, W: 11, O: 4, kh: 1, kw: 3, stride: [1, 1], dilation: [1, 2], pad: [0, 2, 0, 2], groups: 4 }, dy); return [d.dx, d.dw]; },
  run: (t, [x, w]) => {
    const out = t.alloc([2, 4, 11]);
    t.op(K.CONV1D, { x: x!, w: w!, bias: null, out, p: { kernel: 3, stride: 1, dilation: 2, pad: [2, 2], groups: 4 } }, [out]);
    return out;
  },
});
for (const pg of [
  { planes: 6, H: 7, W: 9, kh: 2, kw: 2, stride: [2, 2], pad: [0, 0, 0, 0] },
  { planes: 4, H: 6, W: 5, kh: 3, kw: 3, stride: [2, 1], pad: [1, 1, 1, 0], countIncludePad: false },
  { planes: 4, H: 6, W: 5, kh: 3, kw: 2, stride: [1, 2], pad: [1, 0, 1, 1], countIncludePad: true },
] as ref.PoolGeometry[]) {
  const [OH, OW] = ref.poolOut(pg), p = { kernel: [pg.kh, pg.kw], stride: pg.stride, pad: pg.pad, countIncludePad: pg.countIncludePad } as K.Pool2dParams;
  const desc = `${pg.planes} planes ${pg.H}x${pg.W} -> ${OH}x${OW} kernel ${pg.kh}x${pg.kw} stride ${pg.stride} pad ${pg.pad}`;
  add({
    name: `max_pool2d ${desc}`, ops: [K.MAX_POOL2D, K.MAX_POOL2D_BACKWARD], inputs: [{ shape: [2, pg.planes / 2, pg.H, pg.W], diff: true }],
    forward: ([x]) => ref.maxPoolF64Ref(x!, pg).out, backward: ([x], dy) => [ref.maxPoolBackwardRef(x!, pg, dy)], run: (t, [x]) => F.maxPool2d(t, x!, p),
  });
  if (pg.countIncludePad !== undefined) {
    add({
      name: `avg_pool2d ${desc} countIncludePad=${pg.countIncludePad}`, ops: [K.AVG_POOL2D, K.AVG_POOL2D_BACKWARD], inputs: [{ shape: [2, pg.planes / 2, pg.H, pg.W], diff: true }],
      forward: ([x]) => ref.avgPoolF64Ref(x!, pg), backward: (_, dy) => [ref.avgPoolBackwardRef(pg, dy)], run: (t, [x]) => F.avgPool2d(t, x!, p),
    });
  }
}

add({
  name: 'layer_norm 6x29 with bias', ops: [K.LAYER_NORM, K.LAYER_NORM_BACKWARD], inputs: [{ shape: [6, 29], diff: true, scale: 2 }, { shape: [29], diff: true }, { shape: [29], diff: true }],
  forward: ([x, w, b]) => ref.layerNormRef(x!, w!, b!, 1e-5),
  backward: ([x, w], dy) => { const g = ref.layerNormBackwardRef(x!, w!, 1e-5, dy); return [g.dx, g.dw, g.db]; },
  run: (t, [x, w, b]) => F.layerNorm(t, x!, w!, b!),
});

{
  // two items: targets [2, 1, 2] (a repeat needs a blank between) and [3]; inputs of 7 and 5 of T = 7 frames
  const p: ref.CtcProblem = { T: 7, B: 2, C: 4, blank: 0, targets: [2, 1, 2, 3, 0, 0], maxLen: 3, targetLengths: [3, 1], inputLengths: [7, 5] };
  add({
    name: 'ctc_loss T=7 B=2 C=4 (a repeated label, a shorter input)', ops: [K.CTC_LOSS, K.CTC_LOSS_BACKWARD],
    inputs: [{ shape: [7, 2, 4], diff: true, scale: 2 }],
    forward: ([x]) => [ref.ctcLossRef(x!, p)], backward: ([x], dy) => [ref.ctcLossBackwardRef(x!, p, dy[0]!)],
    run: (t, [x]) => F.ctcLoss(t, x!, t.tensor(Int32Array.from(p.targets), [2, 3]), t.tensor(Int32Array.from(p.targetLengths), [2]), t.tensor(Int32Array.from(p.inputLengths), [2]), 0),
  });
}

// upsample2d at odd sizes: nearest, bilinear (align_corners false and true), unequal factors, a 1-pixel axis
for (const [N, C, H, W, p] of [
  [2, 3, 5, 7, { scale: [2, 2], mode: 'nearest' }], [1, 2, 3, 5, { scale: [3, 1], mode: 'nearest' }],
  [2, 3, 5, 7, { scale: [2, 2], mode: 'bilinear' }], [1, 3, 3, 4, { scale: [3, 2], mode: 'bilinear' }],
  [2, 2, 5, 3, { scale: [2, 3], mode: 'bilinear', alignCorners: true }], [1, 2, 1, 5, { scale: [3, 2], mode: 'bilinear', alignCorners: true }],
] as [number, number, number, number, K.Upsample2dParams][]) {
  add({
    name: `upsample2d ${p.mode}${p.alignCorners ? ' align_corners' : ''} [${N},${C},${H},${W}] x${p.scale.join('x')}`, ops: [K.UPSAMPLE2D, K.UPSAMPLE2D_BACKWARD],
    inputs: [{ shape: [N, C, H, W], diff: true }],
    forward: ([x]) => ref.upsample2dRef(x!, N * C, H, W, p), backward: (_, dy) => [ref.upsample2dBackwardRef(dy, N * C, H, W, p)],
    run: (t, [x]) => F.upsample2d(t, x!, p),
  });
}

// the graph merges of the conv-net builder: elementwise mul, concatenation along channels of [N, C_i, H, W]
add({
  name: 'mul [3,5,7] * [3,5,7]', ops: [K.MUL, K.COPY_COLUMNS, K.ADD], inputs: [{ shape: [3, 5, 7], diff: true }, { shape: [3, 5, 7], diff: true }],
  forward: ([a, b]) => a!.map((v, i) => v * b![i]!), backward: ([a, b], dy) => [dy.map((g, i) => g * b![i]!), dy.map((g, i) => g * a![i]!)],
  run: (t, [a, b]) => F.mul(t, a!, b!),
});
{
  const [N, H, W, Cs] = [2, 3, 5, [3, 1, 2]];
  const Ct = Cs.reduce((a, c) => a + c, 0), HW = H * W;
  // out[n, c0 + c, hw] = x_i[n, c, hw] where c0 = the channels before input i
  const place = (i: number, e: number) => { const n = Math.floor(e / (Cs[i]! * HW)), rest = e % (Cs[i]! * HW); return n * Ct * HW + Cs.slice(0, i).reduce((a, c) => a + c, 0) * HW + rest; };
  add({
    name: `concat along channels [${N},${Cs.join("+")},${H},${W}]`, ops: [K.COPY_COLUMNS, K.ADD], inputs: Cs.map((c) => ({ shape: [N, c, H, W], diff: true })),
    forward: (xs) => { const out = new Float64Array(N * Ct * HW); xs.forEach((x, i) => x.forEach((v, e) => { out[place(i, e)] = v; })); return out; },
    backward: (xs, dy) => xs.map((x, i) => x.map((_, e) => dy[place(i, e)]!)),
    run: (t, xs) => F.concatChannels(t, xs),
  });
}

add({
  name: 'sigmoid [5,37]', ops: [K.SIGMOID, K.SIGMOID_BACKWARD], inputs: [{ shape: [5, 37], diff: true, scale: 3 }],
  forward: ([x]) => ref.sigmoidRef(x!), backward: ([x], dy) => [ref.sigmoidBackwardRef(x!, dy)], run: (t, [x]) => F.sigmoid(t, x!),
});

function inputsFor(c: GradCase): Float64Array[] {
  return c.inputs.map((i) => {
    const n = i.shape.reduce((a, b) => a * b, 1);
    if (i.int) return Float64Array.from({ length: n }, () => Math.floor(r() * i.int!));
    return Float64Array.from(randn(n, r, i.scale ?? 1)); // float32-representable, so the kernels see the same values
  });
}

function objective(c: GradCase, x: Float64Array[], R: Float64Array): number {
  const y = c.forward(x);
  let s = 0;
  for (let i = 0; i < R.length; i++) s += y[i]! * R[i]!;
  return s;
}

const backends: Backend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }));
  const g = await WebGpuBackend.tryCreate();
  if (typeof g === 'string') console.log(`# webgpu cases skipped: ${g}`);
  else backends.push(g);
});
after(async () => { for (const b of backends) await b.dispose(); });

describe('gradients: twin vs finite differences, kernels vs twin', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const x = inputsFor(c);
      const outSize = c.forward(x).length;
      const R = Float64Array.from(randn(outSize, r));
      const want = c.backward(x, R);
      const diffIdx = c.inputs.flatMap((inp, i) => (inp.diff ? [i] : []));
      assert.equal(want.length, diffIdx.length);
      if (!c.noFd) {
        const h = 1e-6;
        diffIdx.forEach((xi, gi) => {
          const fd = new Float64Array(x[xi]!.length);
          for (let e = 0; e < fd.length; e++) {
            const v = x[xi]![e]!;
            x[xi]![e] = v + h; const up = objective(c, x, R);
            x[xi]![e] = v - h; const down = objective(c, x, R);
            x[xi]![e] = v;
            fd[e] = (up - down) / (2 * h);
          }
          const err = relErr(want[gi]!, fd);
          assert.ok(err < 1e-6, `${c.name}: twin gradient of input ${xi} vs finite differences: rel err ${err} ${seedNote()}`);
        });
      }
      for (const be of backends) {
        if (!c.ops.every((op) => be.supports(op))) continue;
        const t = new Tape(be);
        const params: Param[] = [];
        const tensors = c.inputs.map((inp, i) => {
          const v = be.alloc(inp.shape, inp.int ? 'i32' : 'f32');
          be.write(v, inp.int ? Int32Array.from(x[i]!) : Float32Array.from(x[i]!));
          if (inp.diff) params.push(new Param(`x${i}`, v));
          return v;
        });
        const out = c.run(t, tensors);
        const seed = be.alloc(out.shape);
        be.write(seed, Float32Array.from(R));
        t.backward(out, seed);
        for (let gi = 0; gi < params.length; gi++) {
          const got = await be.read(params[gi]!.grad!);
          const err = relErr(got, want[gi]!);
          assert.ok(err < 1e-4, `${be.description}: ${c.name}: gradient of input ${diffIdx[gi]}: rel err ${err} ${seedNote()}`);
        }
        t.release();
        for (const v of [...tensors, seed]) be.free(v);
        for (const p of params) p.dropGrad(be);
      }
    });
  }
});
