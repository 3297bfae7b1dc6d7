// Every registered op on every available backend against its plain-TS twin, from one table of cases (in the manner
// of ggml's test-backend-ops): CPU at 1 and 3 threads, the plain SIMD128 build, and WebGPU when an adapter exists.
// A case names its op, builds fresh random inputs on a backend, and says which tensors to read and what the twin
// gives. An op without a case fails the test, so a new op arrives with its cases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import * as K from '../src/kernels/index.js';
import { run } from '../src/ops/index.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { packWeights } from '../src/quant/pack.js';
import { f32ToBf16Bits, f32ToF16Bits, f16BitsToF32, type DType } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';
import { unpackWeights } from '../src/tensor/packed.js';
import * as ref from './reference.js';
import { packBitmask, packBitmaskQ4, packBitmaskQ8, packBlock8, packNM, packNMQ4, packNMQ8 } from '../src/tensor/sparse-format.js';
import { uploadSparse } from '../src/models/sparse-storage.js';
import { sparseLinearRef } from '../src/kernels/sparse/reference.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();

interface Built {
  /** tensors to read after the op, compared with `want` in order */
  read: Tensor[];
  want: ArrayLike<number>[];
  /** positions in `read` of i32 tensors (read back as raw bits, compared as integers) */
  i32?: number[];
}
interface Case {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  op: K.OpDef<any>;
  name: string;
  tol: number;
  build(be: Backend): Built;
}

function up(be: Backend, data: ArrayBufferView, shape: readonly number[], dtype?: DType): Tensor {
  const t = be.alloc(shape, dtype);
  be.write(t, data);
  return t;
}

const cases: Case[] = [];
const add = (op: Case['op'], name: string, tol: number, build: Case['build']) => cases.push({ op, name, tol, build });

for (const [M, N, Kd] of [[1, 37, 53], [5, 29, 67], [70, 33, 9]] as const) {
  add(K.LINEAR, `${M}x${N}x${Kd} bias`, 1e-5, (be) => {
    const x = randn(M * Kd, r), w = randn(N * Kd, r), b = randn(N, r), out = be.alloc([M, N]);
    run(be, K.LINEAR, { x: up(be, x, [M, Kd]), w: up(be, w, [N, Kd]), bias: up(be, b, [N]), out });
    return { read: [out], want: [ref.linearRef(x, w, b, M, N, Kd)] };
  });
}
add(K.LINEAR_F16, '130x140x40 f16', 2e-3, (be) => {
  const [M, N, Kd] = [130, 140, 40];
  const a = Uint16Array.from(randn(M * Kd, r), f32ToF16Bits), w = Uint16Array.from(randn(N * Kd, r), f32ToF16Bits), out = be.alloc([M, N]);
  run(be, K.LINEAR_F16, { a: up(be, a, [M, Kd], 'f16'), w: up(be, w, [N, Kd], 'f16'), out });
  return { read: [out], want: [ref.linearRef(Float32Array.from(a, f16BitsToF32), Float32Array.from(w, f16BitsToF32), null, M, N, Kd)] };
});
const packedOn = (be: Backend, p: ReturnType<typeof packWeights>): K.LinearPackedArgs['w'] => ({
  kind: 'packed', shape: [p.rows, p.cols], container: p.bits, group: p.group,
  codes: up(be, p.codes, [p.codes.length], 'u8'), scales: up(be, p.scales, [p.scales.length]), zeros: up(be, p.zeros, [p.zeros.length]),
});
for (const [M, bits] of [[1, 4], [1, 8], [3, 4]] as const) {
  // one row: the GEMV holds x as int16 (relative steps of 2^-15), hence the looser tolerance
  add(K.LINEAR_PACKED, `M=${M} int${bits}`, M === 1 ? 1e-3 : 1e-5, (be) => {
    const [rows, cols] = [37, 96];
    const p = packWeights(randn(rows * cols, r, 0.05), rows, cols, { bits, sym: false }, 32), x = randn(M * cols, r), out = be.alloc([M, rows]);
    run(be, K.LINEAR_PACKED, { x: up(be, x, [M, cols]), w: packedOn(be, p), bias: null, out });
    return { read: [out], want: [ref.linearRef(x, unpackWeights(p), null, M, rows, cols)] };
  });
}
add(K.DEQUANTIZE, '37x64 int4 g32', 1e-7, (be) => {
  const p = packWeights(randn(37 * 64, r, 0.05), 37, 64, { bits: 4, sym: true }, 32), out = be.alloc([37, 64]);
  run(be, K.DEQUANTIZE, { w: packedOn(be, p), out });
  return { read: [out], want: [unpackWeights(p)] };
});
add(K.RMS_NORM, '13x385', 1e-5, (be) => {
  const x = randn(13 * 385, r, 3), w = randn(385, r), out = be.alloc([13, 385]);
  run(be, K.RMS_NORM, { x: up(be, x, [13, 385]), w: up(be, w, [385]), eps: 1e-5, out });
  return { read: [out], want: [ref.rmsnormRef(x, w, 1e-5)] };
});
add(K.SOFTMAX, '5x1031', 1e-5, (be) => {
  const x = randn(5 * 1031, r, 3), t = up(be, x, [5, 1031]);
  run(be, K.SOFTMAX, { x: t });
  return { read: [t], want: [ref.softmaxRef(x, 1031)] };
});
add(K.LOGSUMEXP, '7x333', 1e-5, (be) => {
  const x = randn(7 * 333, r, 3), out = be.alloc([7]);
  run(be, K.LOGSUMEXP, { x: up(be, x, [7, 333]), out });
  return { read: [out], want: [ref.logsumexpRef(x, 333)] };
});
for (const neox of [true, false]) {
  add(K.ROPE, `neox=${neox} pos0=5`, 1e-5, (be) => {
    const [T, heads, hd, pos0] = [7, 3, 12, 5], stride = heads * hd + 4;
    const x = randn(T * stride, r), { cos, sin } = ropeTables(64, hd, 10000, null);
    const t = up(be, x, [T, stride]), p = { T, heads, headDim: hd, pos0, neox };
    run(be, K.ROPE, { x: t, cos: up(be, cos, [64, hd / 2]), sin: up(be, sin, [64, hd / 2]), p });
    const want = x.slice();
    ref.ropeRef(want, stride, cos, sin, p);
    return { read: [t], want: [want] };
  });
}
for (const [T, pos0, window] of [[1, 9, 0], [6, 3, 0], [9, 0, 4]] as const) {
  add(K.ATTENTION, `GQA 6/2 heads T=${T} pos0=${pos0} window=${window}`, 2e-5, (be) => {
    const [nH, nKV, hd] = [6, 2, 16], S = pos0 + T;
    const q = randn(T * nH * hd, r), k = randn(S * nKV * hd, r), v = randn(S * nKV * hd, r), out = be.alloc([T, nH * hd]);
    const p = { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0, window, scale: 1 / Math.sqrt(hd) };
    run(be, K.ATTENTION, { q: up(be, q, [T, nH * hd]), k: up(be, k, [S, nKV * hd]), v: up(be, v, [S, nKV * hd]), out, p });
    return { read: [out], want: [ref.attentionRef(q, k, v, p)] };
  });
}
// the training tape's forward (CPU: banded GEMMs over 64-row blocks from T = 64), without and with a window
for (const window of [0, 40]) {
  add(K.ATTENTION, `training GQA 6/2 heads T=150 pos0=3 window=${window}`, 2e-5, (be) => {
    const [T, pos0, nH, nKV, hd] = [150, 3, 6, 2, 16], S = pos0 + T;
    const q = randn(T * nH * hd, r), k = randn(S * nKV * hd, r), v = randn(S * nKV * hd, r), out = be.alloc([T, nH * hd]);
    const p = { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0, window, scale: 1 / Math.sqrt(hd) };
    run(be, K.ATTENTION, { q: up(be, q, [T, nH * hd]), k: up(be, k, [S, nKV * hd]), v: up(be, v, [S, nKV * hd]), out, p, training: true });
    return { read: [out], want: [ref.attentionRef(q, k, v, p)] };
  });
}
// non-causal (encoders, cross-attention): every query sees all S keys, S != T; the inference kernel (one tile, and
// more than one 64-key tile) and the training tape's banded GEMMs (more than one 64-row block)
for (const [T, S, training] of [[9, 5, false], [7, 130, false], [150, 71, true], [67, 140, true]] as const) {
  add(K.ATTENTION, `non-causal GQA 6/2 heads T=${T} S=${S}${training ? ' training' : ''}`, 2e-5, (be) => {
    const [nH, nKV, hd] = [6, 2, 12];
    const q = randn(T * nH * hd, r), k = randn(S * nKV * hd, r), v = randn(S * nKV * hd, r), out = be.alloc([T, nH * hd]);
    const p = { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0: 0, window: 0, scale: 1 / Math.sqrt(hd), causal: false };
    run(be, K.ATTENTION, { q: up(be, q, [T, nH * hd]), k: up(be, k, [S, nKV * hd]), v: up(be, v, [S, nKV * hd]), out, p, training });
    return { read: [out], want: [ref.attentionRef(q, k, v, p)] };
  });
}
const blockInputs = (be: Backend) => {
  const p = { heads: 2, tokens: 150, headDim: 16, block: 64, scale: 0.25 };
  const n = p.heads * p.tokens * p.headDim, q = randn(n, r), k = randn(n, r), v = randn(n, r);
  return { p, q, k, v, tq: up(be, q, [n]), tk: up(be, k, [n]), tv: up(be, v, [n]) };
};
add(K.BLOCK_ATTENTION, 'dense, lse, 150 tokens block 64', 2e-5, (be) => {
  const { p, q, k, v, tq, tk, tv } = blockInputs(be), out = be.alloc([q.length]), lse = be.alloc([p.heads * p.tokens]);
  run(be, K.BLOCK_ATTENTION, { q: tq, k: tk, v: tv, out, p, lse });
  const want = ref.blockAttentionRef(q, k, v, p);
  return { read: [out, lse], want: [want.out, want.lse] };
});
add(K.BLOCK_ATTENTION, 'CSR lists, an empty query block', 2e-5, (be) => {
  const { p, q, k, v, tq, tk, tv } = blockInputs(be), out = be.alloc([q.length]);
  const lists = [[0, 2], [], [1], [0, 1, 2], [2], [0]]; // (head, query block) -> key blocks
  const rowPtr = Int32Array.from([0, ...lists.map((_, i) => lists.slice(0, i + 1).flat().length)]), cols = Int32Array.from(lists.flat());
  run(be, K.BLOCK_ATTENTION, { q: tq, k: tk, v: tv, out, p, mask: { rowPtr: up(be, rowPtr, [rowPtr.length], 'i32'), cols: up(be, cols, [cols.length], 'i32') } });
  return { read: [out], want: [ref.blockAttentionRef(q, k, v, p, (h, qb, kb) => lists[h * 3 + qb]!.includes(kb)).out] };
});
add(K.BLOCK_MASS, 'from the dense lse', 2e-5, (be) => {
  const { p, q, k, v, tq, tk } = blockInputs(be), want = ref.blockAttentionRef(q, k, v, p), mass = be.alloc([p.heads * 9]);
  run(be, K.BLOCK_MASS, { q: tq, k: tk, lse: up(be, Float32Array.from(want.lse), [p.heads * p.tokens]), mass, p });
  return { read: [mass], want: [want.mass] };
});
add(K.ADD, 'n=1155', 1e-6, (be) => {
  const a = randn(1155, r), b = randn(1155, r), ta = up(be, a, [1155]);
  run(be, K.ADD, { a: ta, b: up(be, b, [1155]) });
  return { read: [ta], want: [a.map((x, i) => x + b[i]!)] };
});
add(K.SILU_MUL, 'n=1155, in place into g', 1e-5, (be) => {
  const g = randn(1155, r, 4), u = randn(1155, r), tg = up(be, g, [1155]);
  run(be, K.SILU_MUL, { g: tg, u: up(be, u, [1155]), out: tg });
  return { read: [tg], want: [ref.siluMulRef(g, u)] };
});
for (const dtype of ['f16', 'bf16'] as const) {
  add(K.TO_F32, dtype, 0, (be) => {
    const bits = Uint16Array.from(randn(1001, r, 10), dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits), out = be.alloc([1001]);
    run(be, K.TO_F32, { src: up(be, bits, [1001], dtype), out });
    return { read: [out], want: [dtype === 'f16' ? ref.f16ToF32Ref(bits) : ref.bf16ToF32Ref(bits)] };
  });
  add(K.ROUND_TO, dtype, 0, (be) => {
    const x = randn(1001, r, 100), t = up(be, x, [1001]);
    run(be, K.ROUND_TO, { x: t, dtype });
    return { read: [t], want: [ref.roundToRef(x, dtype)] };
  });
}
add(K.EMBED, '9 ids of a 50x24 table', 0, (be) => {
  const table = randn(50 * 24, r), ids = Int32Array.from({ length: 9 }, () => Math.floor(r() * 50)), out = be.alloc([9, 24]);
  run(be, K.EMBED, { table: up(be, table, [50, 24]), ids: up(be, ids, [9], 'i32'), out });
  return { read: [out], want: [ref.embedRef(table, 24, ids)] };
});
for (const n of [64, 384, 1152]) {
  add(K.HADAMARD, `n=${n}`, 2e-6, (be) => {
    const x = randn(3 * n, r), t = up(be, x, [3, n]), want = x.slice();
    run(be, K.HADAMARD, { x: t, n });
    ref.hadamardRowsRef(want, 3, n);
    return { read: [t], want: [want] };
  });
}
for (const [bits, asym, group] of [[4, true, 40], [8, false, 120]] as const) {
  add(K.FAKE_QUANT, `${bits} bits ${asym ? 'asym' : 'sym'} group ${group}`, 0, (be) => {
    const x = randn(3 * 120, r), t = up(be, x, [3, 120]), p = { n: 120, group, bits, asym, clip: 0.9 };
    run(be, K.FAKE_QUANT, { x: t, p });
    return { read: [t], want: [ref.fakeQuantRef(x, p)] };
  });
}
/** a pruned matrix: about `keep` of the weights kept at random, or exactly N of every M */
function pruned(rows: number, cols: number, keep: number): Float32Array {
  return randn(rows * cols, r).map((v) => (r() < keep ? v : 0));
}
for (const [M, label, make] of [[1, 'bitmask f32 70%', () => packBitmask(pruned(37, 67, 0.3), 37, 67)], [5, 'bitmask f32 50%', () => packBitmask(pruned(37, 67, 0.5), 37, 67)],
  [1, '2:4 f32', () => { const d = randn(29 * 64, r); for (let i = 0; i < d.length; i += 4) { d[i + (i % 3)] = 0; d[i + 3] = 0; } return packNM(d, 29, 64, 2, 4); }],
  // 4:8 over 257 groups a row (more than one pass of 256 invocations; 12-bit fields across u32 words), 3 input rows
  [3, '4:8 f32', () => { const d = randn(23 * 2056, r); for (let i = 0; i < d.length; i += 8) for (const j of [0, 1, 2, 3, 4, 5, 6, 7].sort(() => r() - 0.5).slice(0, 4)) d[i + j] = 0; return packNM(d, 23, 2056, 4, 8); }]] as const) {
  add(K.LINEAR_SPARSE, `M=${M} ${label}`, 1e-5, (be) => {
    const w = make(), x = randn(M * w.cols, r), out = be.alloc([M, w.rows]);
    run(be, K.LINEAR_SPARSE, { x: up(be, x, [M, w.cols]), w: uploadSparse(be, w), bias: null, out });
    return { read: [out], want: [sparseLinearRef(w, x, M, null)] };
  });
}
// int8/int4 codes (the WGSL reads them as bytes / nibbles of u32 words; int4 rows may start at a high nibble) and 1x8
// blocks, at odd row counts; groups of 8-24 columns (scale and zero per weight) and of 128 (per mask word); one
// bitmask int4 case has more than 256 mask words a row (several prefix-sum chunks)
function codes(rows: number, cols: number, q4: boolean, group: number): [Uint8Array, Float32Array, Float32Array] {
  const top = q4 ? 15 : 255, ng = rows * (cols / group);
  return [Uint8Array.from({ length: rows * cols }, () => Math.floor(r() * (top + 1))),
    Float32Array.from({ length: ng }, () => 0.01 + 0.05 * r()), Float32Array.from({ length: ng }, () => Math.round(r() * top))];
}
function keepNM(rows: number, cols: number, n: number, m: number): Uint8Array {
  const keep = new Uint8Array(rows * cols);
  for (let i = 0; i < keep.length; i += m) for (const j of Array.from({ length: m }, (_, k) => k).sort(() => r() - 0.5).slice(0, n)) keep[i + j] = 1;
  return keep;
}
const keepRandom = (n: number, p: number) => Uint8Array.from({ length: n }, () => (r() < p ? 1 : 0));
for (const [M, label, make] of [
  [2, 'bitmask int8 70% g24', () => packBitmaskQ8(...((c) => [c[0], keepRandom(37 * 72, 0.3), 37, 72, 24, c[1], c[2]] as const)(codes(37, 72, false, 24)))],
  [2, 'bitmask int4 60% g16', () => packBitmaskQ4(...((c) => [c[0], keepRandom(31 * 80, 0.4), 31, 80, 16, c[1], c[2]] as const)(codes(31, 80, true, 16)))],
  [2, 'bitmask int4 50% g128, 8448 columns', () => packBitmaskQ4(...((c) => [c[0], keepRandom(5 * 8448, 0.5), 5, 8448, 128, c[1], c[2]] as const)(codes(5, 8448, true, 128)))],
  [2, '2:4 int8 g32', () => packNMQ8(...((c) => [c[0], keepNM(29, 96, 2, 4), 29, 96, 2, 4, 32, c[1], c[2]] as const)(codes(29, 96, false, 32)))],
  [3, '4:8 int8 g16', () => packNMQ8(...((c) => [c[0], keepNM(23, 2064, 4, 8), 23, 2064, 4, 8, 16, c[1], c[2]] as const)(codes(23, 2064, false, 16)))],
  [3, '2:4 int4 g8', () => packNMQ4(...((c) => [c[0], keepNM(27, 40, 2, 4), 27, 40, 2, 4, 8, c[1], c[2]] as const)(codes(27, 40, true, 8)))],
  [2, '4:8 int4 g24', () => packNMQ4(...((c) => [c[0], keepNM(19, 72, 4, 8), 19, 72, 4, 8, 24, c[1], c[2]] as const)(codes(19, 72, true, 24)))],
  // more than 65535 weight rows: the dispatch's y dimension holds both the row groups and the input rows
  [2, '2:4 int8 g8, 65541 rows', () => packNMQ8(...((c) => [c[0], keepNM(65541, 8, 2, 4), 65541, 8, 2, 4, 8, c[1], c[2]] as const)(codes(65541, 8, false, 8)))],
  [2, '1x8 blocks f32 70%', () => { const b = keepRandom(33 * 13, 0.3); return packBlock8(randn(33 * 104, r).map((v, i) => (b[i >> 3] ? v : 0)), 33, 104); }]] as const) {
  // M >= 2: the CPU runs the sparse GEMM on s (q - z) exactly (its one-row GEMV rounds x to int16, which the twin
  // does not model: test/sparse-kernels.test.ts covers it); WebGPU runs its GEMV over all M rows in one dispatch
  add(K.LINEAR_SPARSE, `M=${M} ${label}`, 1e-5, (be) => {
    const w = make(), x = randn(M * w.cols, r), out = be.alloc([M, w.rows]), bias = randn(w.rows, r);
    run(be, K.LINEAR_SPARSE, { x: up(be, x, [M, w.cols]), w: uploadSparse(be, w), bias: up(be, bias, [w.rows]), out });
    return { read: [out], want: [sparseLinearRef(w, x, M, bias)] };
  });
}
// training ops (their gradients through the tape: test/gradients.test.ts)
// the last two go past one block of the CPU kernel in every dimension: 48-row blocks of A' (and a 1-row rest), more
// than 64 panels of B' (and a partial one), depth past 512 (and a short last slice)
for (const [M, N, Kd, tA, tB] of [[13, 29, 37, false, true], [70, 33, 9, true, false], [5, 41, 300, true, true],
  [50, 530, 1030, false, false], [97, 523, 515, true, true]] as const) {
  add(K.GEMM, `${M}x${N}x${Kd} transA=${tA} transB=${tB} accumulate`, 1e-5, (be) => {
    const a = randn(M * Kd, r), b = randn(Kd * N, r), c = randn(M * N, r), out = up(be, c, [M, N]);
    run(be, K.GEMM, { a: up(be, a, tA ? [Kd, M] : [M, Kd]), b: up(be, b, tB ? [N, Kd] : [Kd, N]), out, M, N, K: Kd, transA: tA, transB: tB, accumulate: true });
    return { read: [out], want: [ref.gemmRef(a, b, M, N, Kd, tA, tB, c)] };
  });
}
add(K.COL_SUM, '37x29 into 29', 1e-5, (be) => {
  const x = randn(37 * 29, r), acc = randn(29, r), out = up(be, acc, [29]);
  run(be, K.COL_SUM, { x: up(be, x, [37, 29]), out });
  return { read: [out], want: [ref.colSumRef(x, 37, 29, acc)] };
});
add(K.FILL, 'n=1001', 0, (be) => { const t = be.alloc([1001]); run(be, K.FILL, { x: t, value: 2.5 }); return { read: [t], want: [new Float32Array(1001).fill(2.5)] }; });
add(K.SCALE, 'n=1001', 1e-7, (be) => { const x = randn(1001, r), t = up(be, x, [1001]); run(be, K.SCALE, { x: t, s: -0.75 }); return { read: [t], want: [x.map((v) => v * -0.75)] }; });
add(K.MUL, 'n=1001 by a 0/1 mask', 0, (be) => {
  const x = randn(1001, r), m = Float32Array.from({ length: 1001 }, () => (r() < 0.5 ? 0 : 1)), t = up(be, x, [1001]);
  run(be, K.MUL, { a: t, b: up(be, m, [1001]) });
  return { read: [t], want: [x.map((v, i) => v * m[i]!)] };
});
for (const accumulate of [false, true]) {
  add(K.COPY_COLUMNS, `columns 3..10 of [9,13] to 5.. of [9,17] accumulate=${accumulate}`, 1e-7, (be) => {
    const s = randn(9 * 13, r), d = randn(9 * 17, r), dst = up(be, d, [9, 17]);
    run(be, K.COPY_COLUMNS, { src: up(be, s, [9, 13]), srcCol: 3, dst, dstCol: 5, cols: 7, accumulate });
    return { read: [dst], want: [ref.copyColumnsRef(s, 13, 3, d, 17, 5, 9, 7, accumulate)] };
  });
}
add(K.SUM_SQUARES, 'n=70001 accumulate', 1e-6, (be) => {
  const x = randn(70001, r), out = up(be, Float32Array.of(3), [1]);
  run(be, K.SUM_SQUARES, { x: up(be, x, [70001]), out, accumulate: true });
  return { read: [out], want: [[3 + ref.sumSquaresRef(x)]] };
});
const gradPair = (n: number, scale = 1) => ({ x: randn(n, r, scale), dy: randn(n, r), acc: randn(n, r) });
const plus = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]!);
add(K.RELU_BACKWARD, 'n=1001', 0, (be) => {
  const { x, dy, acc } = gradPair(1001), dx = up(be, acc, [1001]);
  run(be, K.RELU_BACKWARD, { x: up(be, x, [1001]), dy: up(be, dy, [1001]), dx });
  return { read: [dx], want: [Float32Array.from(plus(acc, ref.reluBackwardRef(x, dy)))] };
});
add(K.GELU, 'n=1001', 1e-6, (be) => { const x = randn(1001, r, 3), out = be.alloc([1001]); run(be, K.GELU, { x: up(be, x, [1001]), out }); return { read: [out], want: [ref.geluRef(x)] }; });
add(K.GELU_BACKWARD, 'n=1001', 1e-6, (be) => {
  const { x, dy, acc } = gradPair(1001, 3), dx = up(be, acc, [1001]);
  run(be, K.GELU_BACKWARD, { x: up(be, x, [1001]), dy: up(be, dy, [1001]), dx });
  return { read: [dx], want: [plus(acc, ref.geluBackwardRef(x, dy))] };
});
add(K.SILU_MUL_BACKWARD, 'n=1001', 1e-6, (be) => {
  const { x: g, dy, acc } = gradPair(1001, 3), u = randn(1001, r), dg = up(be, acc, [1001]), du = up(be, acc, [1001]);
  run(be, K.SILU_MUL_BACKWARD, { g: up(be, g, [1001]), u: up(be, u, [1001]), dy: up(be, dy, [1001]), dg, du });
  const w = ref.siluMulBackwardRef(g, u, dy);
  return { read: [dg, du], want: [plus(acc, w.dg), plus(acc, w.du)] };
});
// overwrite: dg (bit 1) and / or du (bit 2) are set, not accumulated, and not read (they start as NaN here)
for (const overwrite of [3, 1]) {
  add(K.SILU_MUL_BACKWARD, `n=1001 overwrite=${overwrite}`, 1e-6, (be) => {
    const { x: g, dy, acc } = gradPair(1001, 3), u = randn(1001, r), nan = new Float32Array(1001).fill(NaN);
    const dg = up(be, nan, [1001]), du = up(be, overwrite & 2 ? nan : acc, [1001]);
    run(be, K.SILU_MUL_BACKWARD, { g: up(be, g, [1001]), u: up(be, u, [1001]), dy: up(be, dy, [1001]), dg, du, overwrite });
    const w = ref.siluMulBackwardRef(g, u, dy);
    return { read: [dg, du], want: [w.dg, overwrite & 2 ? w.du : plus(acc, w.du)] };
  });
}
add(K.SOFTMAX_BACKWARD, '7x131', 1e-6, (be) => {
  const y = ref.softmaxF64Ref(randn(7 * 131, r, 2), 131), { dy, acc } = gradPair(7 * 131), dx = up(be, acc, [7, 131]);
  run(be, K.SOFTMAX_BACKWARD, { y: up(be, Float32Array.from(y), [7, 131]), dy: up(be, dy, [7, 131]), dx });
  return { read: [dx], want: [plus(acc, ref.softmaxBackwardRef(Float32Array.from(y), dy, 131))] };
});
add(K.LOG_SOFTMAX, '7x131', 1e-6, (be) => { const x = randn(7 * 131, r, 3), out = be.alloc([7, 131]); run(be, K.LOG_SOFTMAX, { x: up(be, x, [7, 131]), out }); return { read: [out], want: [ref.logSoftmaxRef(x, 131)] }; });
add(K.LOG_SOFTMAX_BACKWARD, '7x131', 1e-6, (be) => {
  const y = Float32Array.from(ref.logSoftmaxRef(randn(7 * 131, r, 2), 131)), { dy, acc } = gradPair(7 * 131), dx = up(be, acc, [7, 131]);
  run(be, K.LOG_SOFTMAX_BACKWARD, { y: up(be, y, [7, 131]), dy: up(be, dy, [7, 131]), dx });
  return { read: [dx], want: [plus(acc, ref.logSoftmaxBackwardRef(y, dy, 131))] };
});
const labelsOf = (n: number, C: number) => Int32Array.from({ length: n }, () => Math.floor(r() * C));
add(K.CROSS_ENTROPY, '33 rows x 10 classes', 1e-6, (be) => {
  const x = randn(330, r, 3), l = labelsOf(33, 10), probs = be.alloc([33, 10]), loss = be.alloc([1]);
  run(be, K.CROSS_ENTROPY, { logits: up(be, x, [33, 10]), labels: up(be, l, [33], 'i32'), probs, loss });
  return { read: [probs, loss], want: [ref.softmaxF64Ref(x, 10), [ref.crossEntropyRef(x, l, 10)]] };
});
add(K.CROSS_ENTROPY_BACKWARD, '33 rows x 10 classes', 1e-6, (be) => {
  const x = randn(330, r, 3), l = labelsOf(33, 10), acc = randn(330, r), dx = up(be, acc, [33, 10]);
  run(be, K.CROSS_ENTROPY_BACKWARD, { probs: up(be, Float32Array.from(ref.softmaxF64Ref(x, 10)), [33, 10]), labels: up(be, l, [33], 'i32'), dy: up(be, Float32Array.of(0.7), [1]), dlogits: dx });
  return { read: [dx], want: [plus(acc, ref.crossEntropyBackwardRef(x, l, 10, 0.7))] };
});
add(K.MSE, 'n=50001', 1e-6, (be) => {
  const a = randn(50001, r), b = randn(50001, r), loss = be.alloc([1]);
  run(be, K.MSE, { a: up(be, a, [50001]), b: up(be, b, [50001]), loss });
  return { read: [loss], want: [[ref.mseRef(a, b)]] };
});
add(K.MSE_BACKWARD, 'n=1001', 1e-6, (be) => {
  const a = randn(1001, r), b = randn(1001, r), acc = randn(1001, r), da = up(be, acc, [1001]), db = up(be, acc, [1001]);
  run(be, K.MSE_BACKWARD, { a: up(be, a, [1001]), b: up(be, b, [1001]), dy: up(be, Float32Array.of(1.5), [1]), da, db });
  const w = ref.mseBackwardRef(a, b, 1.5);
  return { read: [da, db], want: [plus(acc, w.da), plus(acc, w.db)] };
});
add(K.KL_DIV, 'T=2, 9 rows x 17', 1e-5, (be) => {
  const s = randn(153, r, 3), t = randn(153, r, 3), ps = be.alloc([9, 17]), pt = be.alloc([9, 17]), loss = be.alloc([1]);
  run(be, K.KL_DIV, { student: up(be, s, [9, 17]), teacher: up(be, t, [9, 17]), T: 2, ps, pt, loss });
  return { read: [ps, pt, loss], want: [ref.softmaxF64Ref(s.map((v) => v / 2), 17), ref.softmaxF64Ref(t.map((v) => v / 2), 17), [ref.klDivRef(s, t, 17, 2)]] };
});
add(K.KL_DIV_BACKWARD, 'T=2, 9 rows x 17', 1e-6, (be) => {
  const s = randn(153, r, 3), t = randn(153, r, 3), acc = randn(153, r), ds = up(be, acc, [9, 17]);
  const ps = Float32Array.from(ref.softmaxF64Ref(s.map((v) => v / 2), 17)), pt = Float32Array.from(ref.softmaxF64Ref(t.map((v) => v / 2), 17));
  run(be, K.KL_DIV_BACKWARD, { ps: up(be, ps, [9, 17]), pt: up(be, pt, [9, 17]), dy: up(be, Float32Array.of(1.25), [1]), T: 2, ds });
  return { read: [ds], want: [plus(acc, ref.klDivBackwardRef(s, t, 17, 2, 1.25))] };
});
add(K.RMS_NORM_BACKWARD, '13x385', 1e-5, (be) => {
  const x = randn(13 * 385, r, 3), w = randn(385, r), dy = randn(13 * 385, r), ax = randn(13 * 385, r), aw = randn(385, r);
  const dx = up(be, ax, [13, 385]), dw = up(be, aw, [385]);
  run(be, K.RMS_NORM_BACKWARD, { x: up(be, x, [13, 385]), w: up(be, w, [385]), eps: 1e-5, dy: up(be, dy, [13, 385]), dx, dw });
  const g = ref.rmsnormBackwardRef(x, w, 1e-5, dy);
  return { read: [dx, dw], want: [plus(ax, g.dx), plus(aw, g.dw)] };
});
add(K.EMBED_BACKWARD, '19 ids (repeats) into 11x37', 1e-6, (be) => {
  const ids = labelsOf(19, 11), dy = randn(19 * 37, r), acc = randn(11 * 37, r), dt = up(be, acc, [11, 37]);
  run(be, K.EMBED_BACKWARD, { ids: up(be, ids, [19], 'i32'), dy: up(be, dy, [19, 37]), dtable: dt });
  return { read: [dt], want: [plus(acc, ref.embedBackwardRef(ids, dy, 11, 37))] };
});
add(K.DROPOUT, 'p=0.25 n=5001', 1e-7, (be) => {
  const x = randn(5001, r), out = be.alloc([5001]);
  run(be, K.DROPOUT, { x: up(be, x, [5001]), out, p: 0.25, seed: 99 });
  return { read: [out], want: [ref.dropoutRef(x, 0.25, 99)] };
});
add(K.ADAMW_STEP, 'n=1001, step 3', 1e-6, (be) => {
  const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const p = randn(1001, r), g = randn(1001, r), m = randn(1001, r, 0.1), v = Float32Array.from(randn(1001, r, 0.1), Math.abs);
  const tp = up(be, p, [1001]), tm = up(be, m, [1001]), tv = up(be, v, [1001]);
  run(be, K.ADAMW_STEP, { p: tp, g: up(be, g, [1001]), m: tm, v: tv, ...h, step: 3 });
  const [wp, wm, wv] = [Float64Array.from(p), Float64Array.from(m), Float64Array.from(v)];
  ref.adamwStepRef(wp, g, wm, wv, h, 3);
  return { read: [tp, tm, tv], want: [wp, wm, wv] };
});
for (const nesterov of [false, true]) {
  add(K.SGD_STEP, `n=1001 momentum nesterov=${nesterov}`, 1e-6, (be) => {
    const h = { lr: 0.1, momentum: 0.9, dampening: nesterov ? 0 : 0.1, weightDecay: 1e-3, nesterov };
    const p = randn(1001, r), g = randn(1001, r), b = randn(1001, r), tp = up(be, p, [1001]), tb = up(be, b, [1001]);
    run(be, K.SGD_STEP, { p: tp, g: up(be, g, [1001]), buf: tb, ...h, first: false });
    const [wp, wb] = [Float64Array.from(p), Float64Array.from(b)];
    ref.sgdStepRef(wp, g, wb, h, false);
    return { read: [tp, tb], want: [wp, wb] };
  });
}
// the second shape: more values per channel (495) than a WebGPU workgroup's 256 invocations
for (const [train, [N, C, H, W]] of [[true, [4, 6, 5, 3]], [false, [4, 6, 5, 3]], [true, [5, 3, 9, 11]]] as const) {
  const S = H * W;
  add(K.BATCH_NORM, `[${N},${C},${H},${W}] ${train ? 'train' : 'eval'}`, 1e-5, (be) => {
    const x = randn(N * C * S, r, 2), g = randn(C, r), b = randn(C, r), rm = randn(C, r), rv = Float32Array.from(randn(C, r), (v) => 0.5 + Math.abs(v));
    const trm = up(be, rm, [C]), trv = up(be, rv, [C]), out = be.alloc([N, C, H, W]), mean = be.alloc([C]), invstd = be.alloc([C]);
    run(be, K.BATCH_NORM, { x: up(be, x, [N, C, H, W]), gamma: up(be, g, [C]), beta: up(be, b, [C]), runMean: trm, runVar: trv, out, mean, invstd, train, momentum: 0.1, eps: 1e-5 });
    const w = ref.batchNormRef(x, g, b, rm, rv, N, C, S, train, 0.1, 1e-5);
    return { read: [out, mean, invstd, trm, trv], want: [w.out, w.mean, w.invstd, w.runMean, w.runVar] };
  });
  add(K.BATCH_NORM_BACKWARD, `[${N},${C},${S}] ${train ? 'train' : 'eval'}`, 1e-5, (be) => {
    const x = randn(N * C * S, r, 2), g = randn(C, r), mean = randn(C, r, 0.1), invstd = Float32Array.from(randn(C, r), (v) => 0.5 + Math.abs(v));
    const dy = randn(N * C * S, r), ax = randn(N * C * S, r), ag = randn(C, r), ab = randn(C, r);
    const dx = up(be, ax, [N, C, S]), dg = up(be, ag, [C]), db = up(be, ab, [C]);
    run(be, K.BATCH_NORM_BACKWARD, { x: up(be, x, [N, C, S]), gamma: up(be, g, [C]), mean: up(be, mean, [C]), invstd: up(be, invstd, [C]), dy: up(be, dy, [N, C, S]), dx, dgamma: dg, dbeta: db, train });
    const w = ref.batchNormBackwardRef(x, g, mean, invstd, dy, N, C, S, train);
    return { read: [dx, dg, db], want: [plus(ax, w.dx), plus(ag, w.dgamma), plus(ab, w.dbeta)] };
  });
}
for (const rowwise of [false, true]) {
add(K.ATTENTION_BACKWARD, `GQA 6/2 heads T=9 pos0=4 window=6 ${rowwise ? 'row by row' : 'as GEMMs'}`, 1e-5, (be) => {
  const p = { T: 9, nHeads: 6, nKVHeads: 2, headDim: 16, pos0: 4, window: 6, scale: 0.25 }, S = 13;
  const q = randn(9 * 96, r), k = randn(S * 32, r), v = randn(S * 32, r), dout = randn(9 * 96, r), aq = randn(9 * 96, r), ak = randn(S * 32, r), av = randn(S * 32, r);
  const dq = up(be, aq, [9, 96]), dk = up(be, ak, [S, 32]), dv = up(be, av, [S, 32]);
  const o = Float32Array.from(ref.attentionF64Ref(q, k, v, p));
  run(be, K.ATTENTION_BACKWARD, { q: up(be, q, [9, 96]), k: up(be, k, [S, 32]), v: up(be, v, [S, 32]), out: up(be, o, [9, 96]), dout: up(be, dout, [9, 96]), dq, dk, dv, p, rowwise });
  const g = ref.attentionBackwardRef(q, k, v, p, dout);
  return { read: [dq, dk, dv], want: [plus(aq, g.dq), plus(ak, g.dk), plus(av, g.dv)] };
});
}
// the LLaMA block's training ops at sizes that take the WebGPU kernels past one tile / workgroup, and with some
// gradients not wanted (their WGSL variants bind fewer outputs)
for (const [T, S, pos0, window, hd, want] of [[133, 140, 0, 0, 68, 'qv'], [100, 111, 11, 70, 20, 'k']] as const) {
  add(K.ATTENTION_BACKWARD, `GQA 6/2 heads T=${T} pos0=${pos0} window=${window} hd=${hd}, d${want.split('').join(' d')} only`, 1e-5, (be) => {
    const p = { T, nHeads: 6, nKVHeads: 2, headDim: hd, pos0, window, scale: 1 / Math.sqrt(hd) }, qd = 6 * hd, kd = 2 * hd;
    const q = randn(T * qd, r), k = randn(S * kd, r), v = randn(S * kd, r), dout = randn(T * qd, r), aq = randn(T * qd, r), ak = randn(S * kd, r), av = randn(S * kd, r);
    const dq = up(be, aq, [T, qd]), dk = up(be, ak, [S, kd]), dv = up(be, av, [S, kd]);
    const o = Float32Array.from(ref.attentionF64Ref(q, k, v, p));
    run(be, K.ATTENTION_BACKWARD, { q: up(be, q, [T, qd]), k: up(be, k, [S, kd]), v: up(be, v, [S, kd]), out: up(be, o, [T, qd]), dout: up(be, dout, [T, qd]),
      dq: want.includes('q') ? dq : null, dk: want.includes('k') ? dk : null, dv: want.includes('v') ? dv : null, p });
    const g = ref.attentionBackwardRef(q, k, v, p, dout);
    return { read: [dq, dk, dv], want: [want.includes('q') ? plus(aq, g.dq) : aq, want.includes('k') ? plus(ak, g.dk) : ak, want.includes('v') ? plus(av, g.dv) : av] };
  });
}
add(K.MSE, 'n=300001 (more stripes than workgroups)', 1e-6, (be) => {
  const a = randn(300001, r), b = randn(300001, r), loss = be.alloc([1]);
  run(be, K.MSE, { a: up(be, a, [300001]), b: up(be, b, [300001]), loss });
  return { read: [loss], want: [[ref.mseRef(a, b)]] };
});
add(K.MSE_BACKWARD, 'n=70001, da only', 1e-6, (be) => {
  const a = randn(70001, r), b = randn(70001, r), acc = randn(70001, r), da = up(be, acc, [70001]);
  run(be, K.MSE_BACKWARD, { a: up(be, a, [70001]), b: up(be, b, [70001]), dy: up(be, Float32Array.of(0.75), [1]), da, db: null });
  return { read: [da], want: [plus(acc, ref.mseBackwardRef(a, b, 0.75).da)] };
});
for (const which of ['g', 'u'] as const) {
  add(K.SILU_MUL_BACKWARD, `n=70001, d${which} only`, 1e-6, (be) => {
    const { x: g, dy, acc } = gradPair(70001, 3), u = randn(70001, r), d = up(be, acc, [70001]);
    run(be, K.SILU_MUL_BACKWARD, { g: up(be, g, [70001]), u: up(be, u, [70001]), dy: up(be, dy, [70001]), dg: which === 'g' ? d : null, du: which === 'u' ? d : null });
    const w = ref.siluMulBackwardRef(g, u, dy);
    return { read: [d], want: [plus(acc, which === 'g' ? w.dg : w.du)] };
  });
}
for (const [rows, n, which] of [[7, 1031, 'w'], [300, 77, 'x']] as const) {
  add(K.RMS_NORM_BACKWARD, `${rows}x${n}, d${which} only`, 1e-5, (be) => {
    const x = randn(rows * n, r, 3), w = randn(n, r), dy = randn(rows * n, r), acc = randn(which === 'w' ? n : rows * n, r), d = up(be, acc, [acc.length]);
    run(be, K.RMS_NORM_BACKWARD, { x: up(be, x, [rows, n]), w: up(be, w, [n]), eps: 1e-5, dy: up(be, dy, [rows, n]), dx: which === 'x' ? d : null, dw: which === 'w' ? d : null });
    const g = ref.rmsnormBackwardRef(x, w, 1e-5, dy);
    return { read: [d], want: [plus(acc, which === 'w' ? g.dw : g.dx)] };
  });
}
add(K.EMBED_BACKWARD, '301 ids (repeats) into 71x131', 1e-6, (be) => {
  const ids = labelsOf(301, 71), dy = randn(301 * 131, r), acc = randn(71 * 131, r), dt = up(be, acc, [71, 131]);
  run(be, K.EMBED_BACKWARD, { ids: up(be, ids, [301], 'i32'), dy: up(be, dy, [301, 131]), dtable: dt });
  return { read: [dt], want: [plus(acc, ref.embedBackwardRef(ids, dy, 71, 131))] };
});
// the GEMM form over several 64-row blocks of the causal band: without a window (later queries see every key) and with
// one shorter than a block (some key blocks meet no query of a block)
for (const window of [0, 40]) {
add(K.ATTENTION_BACKWARD, `GQA 4/2 heads T=150 pos0=3 window=${window} as banded GEMMs`, 1e-5, (be) => {
  const T = 150, S = 153, p = { T, nHeads: 4, nKVHeads: 2, headDim: 8, pos0: 3, window, scale: 0.3 };
  const q = randn(T * 32, r), k = randn(S * 16, r), v = randn(S * 16, r), dout = randn(T * 32, r), aq = randn(T * 32, r), ak = randn(S * 16, r), av = randn(S * 16, r);
  const dq = up(be, aq, [T, 32]), dk = up(be, ak, [S, 16]), dv = up(be, av, [S, 16]);
  const o = Float32Array.from(ref.attentionF64Ref(q, k, v, p));
  run(be, K.ATTENTION_BACKWARD, { q: up(be, q, [T, 32]), k: up(be, k, [S, 16]), v: up(be, v, [S, 16]), out: up(be, o, [T, 32]), dout: up(be, dout, [T, 32]), dq, dk, dv, p });
  const g = ref.attentionBackwardRef(q, k, v, p, dout);
  return { read: [dq, dk, dv], want: [plus(aq, g.dq), plus(ak, g.dk), plus(av, g.dv)] };
});
}
// non-causal backward (every query sees all S keys, S != T): row by row, as GEMMs over more than one 64-row block
// (T = 150, S = 71: key blocks meet every query), and WebGPU past one tile / workgroup (hd 68) with some gradients not wanted
for (const [T, S, hd, rowwise, want] of [[9, 13, 16, true, 'qkv'], [9, 13, 16, false, 'qkv'], [150, 71, 8, false, 'qkv'], [133, 140, 68, false, 'qv'], [70, 66, 20, false, 'k']] as const) {
  add(K.ATTENTION_BACKWARD, `non-causal GQA 6/2 heads T=${T} S=${S} hd=${hd} ${rowwise ? 'row by row' : 'as GEMMs'}, d${want.split('').join(' d')}`, 1e-5, (be) => {
    const p = { T, nHeads: 6, nKVHeads: 2, headDim: hd, pos0: 0, window: 0, scale: 1 / Math.sqrt(hd), causal: false }, qd = 6 * hd, kd = 2 * hd;
    const q = randn(T * qd, r), k = randn(S * kd, r), v = randn(S * kd, r), dout = randn(T * qd, r), aq = randn(T * qd, r), ak = randn(S * kd, r), av = randn(S * kd, r);
    const dq = up(be, aq, [T, qd]), dk = up(be, ak, [S, kd]), dv = up(be, av, [S, kd]);
    const o = Float32Array.from(ref.attentionF64Ref(q, k, v, p));
    run(be, K.ATTENTION_BACKWARD, { q: up(be, q, [T, qd]), k: up(be, k, [S, kd]), v: up(be, v, [S, kd]), out: up(be, o, [T, qd]), dout: up(be, dout, [T, qd]),
      dq: want.includes('q') ? dq : null, dk: want.includes('k') ? dk : null, dv: want.includes('v') ? dv : null, p, rowwise });
    const g = ref.attentionBackwardRef(q, k, v, p, dout);
    return { read: [dq, dk, dv], want: [want.includes('q') ? plus(aq, g.dq) : aq, want.includes('k') ? plus(ak, g.dk) : ak, want.includes('v') ? plus(av, g.dv) : av] };
  });
}
// conv2d at odd sizes: plain, strided + dilated + asymmetric padding (SAME_UPPER-like), grouped, depthwise
const convCases: [string, number, number, number, number, number, K.Conv2dParams, boolean][] = [
  ['3x7x9 -> 5, 3x3', 2, 3, 7, 9, 5, { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, true],
  ['stride 2,1 dilation 2,1 pads 0,1,1,2', 3, 4, 11, 10, 6, { kernel: [3, 2], stride: [2, 1], dilation: [2, 1], pad: [0, 1, 1, 2], groups: 1 }, true],
  ['groups 2, 5x5', 1, 6, 13, 9, 4, { kernel: [5, 5], stride: [1, 2], dilation: [1, 1], pad: [2, 2, 2, 2], groups: 2 }, false],
  ['depthwise 3x3 stride 2', 2, 5, 9, 7, 5, { kernel: [3, 3], stride: [2, 2], dilation: [1, 1], pad: [1, 0, 1, 1], groups: 5 }, true],
  ['1x1, 37 channels', 1, 37, 5, 3, 11, { kernel: [1, 1], stride: [1, 1], dilation: [1, 1], pad: [0, 0, 0, 0], groups: 1 }, true],
  // stride 1 with an image per thread (conv2d_direct): 6+4+1 output tiles, 8+6 wide row blocks, uneven padding; 6 outputs 3 wide
  ['direct 5x4, pads 2,1,0,3, 11 outputs', 3, 3, 9, 13, 11, { kernel: [5, 4], stride: [1, 1], dilation: [1, 1], pad: [2, 1, 0, 3], groups: 1 }, true],
  ['direct 3x3, 6 outputs 3 wide', 4, 2, 5, 3, 6, { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, false],
];
for (const [name, N, C, H, W, O, p, withBias] of convCases) {
  add(K.CONV2D, name, 1e-5, (be) => {
    const [kh, kw] = p.kernel, Cg = C / p.groups;
    const OH = K.convOutSize(H, kh, p.stride[0], p.dilation[0], p.pad[0], p.pad[2]), OW = K.convOutSize(W, kw, p.stride[1], p.dilation[1], p.pad[1], p.pad[3]);
    const x = randn(N * C * H * W, r), w = randn(O * Cg * kh * kw, r), b = withBias ? randn(O, r) : null, out = be.alloc([N, O, OH, OW]);
    run(be, K.CONV2D, { x: up(be, x, [N, C, H, W]), w: up(be, w, [O, Cg, kh, kw]), bias: b && up(be, b, [O]), out, p });
    return { read: [out], want: [ref.conv2dRef(x, w, b, N, C, H, W, O, p)] };
  });
}
add(K.CONV1D, 'L=29 k=5 stride 2 dilation 2 pads 3,1 groups 2', 1e-5, (be) => {
  const [N, C, L, O, k] = [2, 4, 29, 6, 5], p: K.Conv1dParams = { kernel: k, stride: 2, dilation: 2, pad: [3, 1], groups: 2 };
  const OL = K.convOutSize(L, k, 2, 2, 3, 1);
  const x = randn(N * C * L, r), w = randn(O * 2 * k, r), b = randn(O, r), out = be.alloc([N, O, OL]);
  run(be, K.CONV1D, { x: up(be, x, [N, C, L]), w: up(be, w, [O, 2, k]), bias: up(be, b, [O]), out, p });
  const p2: K.Conv2dParams = { kernel: [1, k], stride: [1, 2], dilation: [1, 2], pad: [0, 3, 0, 1], groups: 2 };
  return { read: [out], want: [ref.conv2dRef(x, w, b, N, C, 1, L, O, p2)] };
});
const poolCases: [string, number, number, number, K.Pool2dParams][] = [
  ['2x2 stride 2 on 13x11', 3, 13, 11, { kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0] }],
  ['3x3 stride 3 on 14x14', 2, 14, 14, { kernel: [3, 3], stride: [3, 3], pad: [0, 0, 0, 0] }],
  ['3x2 stride 2,1 pads 1,0,2,1', 5, 9, 7, { kernel: [3, 2], stride: [2, 1], pad: [1, 0, 2, 1] }],
];
// max 2x2 stride 2 (its four-at-a-time path): ties (values rounded to integers) must keep the first tap, as the twin
add(K.MAX_POOL2D, '2x2 stride 2 on 7x21 with ties', 0, (be) => {
  const [planes, H, W] = [3, 7, 21], p: K.Pool2dParams = { kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0] };
  const x = randn(planes * H * W, r).map((v) => Math.round(v)), out = be.alloc([1, planes, 3, 10]), indices = be.alloc([1, planes, 3, 10], 'i32');
  run(be, K.MAX_POOL2D, { x: up(be, x, [1, planes, H, W]), out, indices, p });
  const want = ref.maxPool2dRef(x, planes, H, W, p);
  return { read: [out, indices], want: [want.out, want.indices], i32: [1] };
});
for (const [name, planes, H, W, p] of poolCases) {
  const [OH, OW] = K.poolOutShape(H, W, p);
  add(K.MAX_POOL2D, name, 0, (be) => {
    const x = randn(planes * H * W, r), out = be.alloc([1, planes, OH, OW]), indices = be.alloc([1, planes, OH, OW], 'i32');
    run(be, K.MAX_POOL2D, { x: up(be, x, [1, planes, H, W]), out, indices, p });
    const want = ref.maxPool2dRef(x, planes, H, W, p);
    return { read: [out, indices], want: [want.out, want.indices], i32: [1] };
  });
  for (const countIncludePad of [false, true]) {
    add(K.AVG_POOL2D, `${name}${countIncludePad ? ' count_include_pad' : ''}`, 1e-6, (be) => {
      const x = randn(planes * H * W, r), out = be.alloc([planes, 1, OH, OW]), q = { ...p, countIncludePad };
      run(be, K.AVG_POOL2D, { x: up(be, x, [planes, 1, H, W]), out, p: q });
      return { read: [out], want: [ref.avgPool2dRef(x, planes, H, W, q)] };
    });
  }
}
add(K.RELU, 'n=1155 out of place', 0, (be) => {
  const x = randn(1155, r), out = be.alloc([1155]);
  run(be, K.RELU, { x: up(be, x, [1155]), out });
  return { read: [out], want: [ref.reluRef(x)] };
});
add(K.RELU, 'n=1155 in place', 0, (be) => {
  const x = randn(1155, r), t = up(be, x, [1155]);
  run(be, K.RELU, { x: t, out: t });
  return { read: [t], want: [ref.reluRef(x)] };
});
for (const [scaled, shifted, inPlace] of [[true, true, true], [false, true, true], [true, false, false], [false, false, false]] as const) {
  add(K.CHANNEL_AFFINE, `[3,7,13] scale=${scaled} shift=${shifted}${inPlace ? ' in place' : ''}`, 1e-6, (be) => {
    const x = randn(3 * 7 * 13, r), a = randn(7, r), b = randn(7, r), t = up(be, x, [3, 7, 13]), out = inPlace ? t : be.alloc([3, 7, 13]);
    run(be, K.CHANNEL_AFFINE, { x: t, scale: scaled ? up(be, a, [7]) : null, shift: shifted ? up(be, b, [7]) : null, out });
    return { read: [out], want: [ref.channelAffineRef(x, 7, 13, scaled ? a : null, shifted ? b : null)] };
  });
}
// the second: 5 x 169 patch rows, so the WebGPU weight gradient runs as 4 slices (split-K) over 2 tiles of 67 channels
for (const g of [
  { N: 3, C: 4, H: 9, W: 10, O: 6, kh: 3, kw: 3, stride: [2, 1], dilation: [1, 2], pad: [1, 2, 1, 1], groups: 2 },
  { N: 5, C: 3, H: 13, W: 13, O: 67, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], pad: [1, 1, 1, 1], groups: 1 },
] as ref.ConvGeometry[]) {
  const [OH, OW] = ref.convOut(g), Cg = g.C / g.groups;
  add(K.CONV2D_BACKWARD, `[${g.N},${g.C},${g.H},${g.W}] -> ${g.O}x${OH}x${OW} groups ${g.groups} stride ${g.stride} dilation ${g.dilation}`, 1e-5, (be) => {
    const x = randn(g.N * g.C * g.H * g.W, r), w = randn(g.O * Cg * g.kh * g.kw, r), dy = randn(g.N * g.O * OH * OW, r), ax = randn(x.length, r), aw = randn(w.length, r), ab = randn(g.O, r);
    const dx = up(be, ax, [g.N, g.C, g.H, g.W]), dw = up(be, aw, [g.O, Cg, g.kh, g.kw]), db = up(be, ab, [g.O]);
    run(be, K.CONV2D_BACKWARD, { x: up(be, x, [g.N, g.C, g.H, g.W]), w: up(be, w, [g.O, Cg, g.kh, g.kw]), dy: up(be, dy, [g.N, g.O, OH, OW]), dx, dw, db,
      p: { kernel: [g.kh, g.kw], stride: g.stride, dilation: g.dilation, pad: g.pad, groups: g.groups } });
    const d = ref.conv2dBackwardRef(x, w, g, dy);
    return { read: [dx, dw, db], want: [plus(ax, d.dx), plus(aw, d.dw), plus(ab, d.db)] };
  });
}
// stride 1, one group: dx by the direct kernel on the turned weights (4+1 output tiles, 8+5 wide row blocks), dW by
// conv2d_dw_direct (3+3+1 channel tiles, 4+1 taps per row, 11 of 12 columns); the last pads past the kernel on the
// right, so its dx takes the dcol GEMM + col2im path
for (const pad of [[2, 0, 1, 2], [1, 1, 0, 5]] as [number, number, number, number][]) {
  const g: ref.ConvGeometry = { N: 3, C: 5, H: 11, W: 13, O: 7, kh: 3, kw: 5, stride: [1, 1], dilation: [1, 1], pad, groups: 1 };
  const [OH, OW] = ref.convOut(g);
  add(K.CONV2D_BACKWARD, `[3,5,11,13] -> 7x${OH}x${OW} stride 1 pads ${pad}`, 1e-5, (be) => {
    const x = randn(g.N * g.C * g.H * g.W, r), w = randn(g.O * g.C * 15, r), dy = randn(g.N * g.O * OH * OW, r), ax = randn(x.length, r), aw = randn(w.length, r), ab = randn(g.O, r);
    const dx = up(be, ax, [g.N, g.C, g.H, g.W]), dw = up(be, aw, [g.O, g.C, 3, 5]), db = up(be, ab, [g.O]);
    run(be, K.CONV2D_BACKWARD, { x: up(be, x, [g.N, g.C, g.H, g.W]), w: up(be, w, [g.O, g.C, 3, 5]), dy: up(be, dy, [g.N, g.O, OH, OW]), dx, dw, db,
      p: { kernel: [3, 5], stride: [1, 1], dilation: [1, 1], pad, groups: 1 } });
    const d = ref.conv2dBackwardRef(x, w, g, dy);
    return { read: [dx, dw, db], want: [plus(ax, d.dx), plus(aw, d.dw), plus(ab, d.db)] };
  });
}
{
  const pg: ref.PoolGeometry = { planes: 10, H: 11, W: 9, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1, 1, 1], countIncludePad: false };
  const [OH, OW] = ref.poolOut(pg);
  add(K.MAX_POOL2D_BACKWARD, `10 planes 11x9 kernel 3 stride 2 pad 1`, 1e-6, (be) => {
    const x = randn(10 * 99, r), dy = randn(10 * OH * OW, r), acc = randn(x.length, r), dx = up(be, acc, [2, 5, 11, 9]);
    run(be, K.MAX_POOL2D_BACKWARD, { dy: up(be, dy, [2, 5, OH, OW]), indices: up(be, Int32Array.from(ref.maxPoolF64Ref(x, pg).argmax, (c) => c % 99), [2, 5, OH, OW], 'i32'), dx,
      p: { kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1] } });
    return { read: [dx], want: [plus(acc, ref.maxPoolBackwardRef(x, pg, dy))] };
  });
  add(K.AVG_POOL2D_BACKWARD, `10 planes 11x9 kernel 3 stride 2 pad 1 (count without padding)`, 1e-6, (be) => {
    const dy = randn(10 * OH * OW, r), acc = randn(10 * 99, r), dx = up(be, acc, [2, 5, 11, 9]);
    run(be, K.AVG_POOL2D_BACKWARD, { dy: up(be, dy, [2, 5, OH, OW]), dx, p: { kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1], countIncludePad: false } });
    return { read: [dx], want: [plus(acc, ref.avgPoolBackwardRef(pg, dy))] };
  });
}
add(K.LAYER_NORM, '13x385 with bias', 1e-5, (be) => {
  const x = randn(13 * 385, r, 3), w = randn(385, r), b = randn(385, r), out = be.alloc([13, 385]), mean = be.alloc([13]), rstd = be.alloc([13]);
  run(be, K.LAYER_NORM, { x: up(be, x, [13, 385]), w: up(be, w, [385]), b: up(be, b, [385]), eps: 1e-5, out, mean, rstd });
  return { read: [out], want: [ref.layerNormRef(x, w, b, 1e-5)] };
});
add(K.LAYER_NORM_BACKWARD, '13x385', 1e-5, (be) => {
  const x = randn(13 * 385, r, 3), w = randn(385, r), dy = randn(13 * 385, r), ax = randn(13 * 385, r), aw = randn(385, r), ab = randn(385, r);
  const mu = Float32Array.from({ length: 13 }, (_, i) => x.subarray(i * 385, (i + 1) * 385).reduce((a, c) => a + c, 0) / 385);
  const rs = Float32Array.from({ length: 13 }, (_, i) => 1 / Math.sqrt(x.subarray(i * 385, (i + 1) * 385).reduce((a, c) => a + (c - mu[i]!) ** 2, 0) / 385 + 1e-5));
  const dx = up(be, ax, [13, 385]), dw = up(be, aw, [385]), db = up(be, ab, [385]);
  run(be, K.LAYER_NORM_BACKWARD, { x: up(be, x, [13, 385]), w: up(be, w, [385]), mean: up(be, mu, [13]), rstd: up(be, rs, [13]), dy: up(be, dy, [13, 385]), dx, dw, db });
  const g = ref.layerNormBackwardRef(x, w, 1e-5, dy);
  return { read: [dx, dw, db], want: [plus(ax, g.dx), plus(aw, g.dw), plus(ab, g.db)] };
});
{
  // three items with repeats, a blank-free target, an empty target, and inputs shorter than T
  const p: ref.CtcProblem = { T: 9, B: 3, C: 5, blank: 4, targets: [1, 1, 2, 0, 3, 2, 0, 0, 0, 0, 0, 0], maxLen: 4, targetLengths: [3, 2, 0], inputLengths: [9, 6, 4] };
  const ints = (be: Backend) => [up(be, Int32Array.from(p.targets), [3, 4], 'i32'), up(be, Int32Array.from(p.targetLengths), [3], 'i32'), up(be, Int32Array.from(p.inputLengths), [3], 'i32')] as const;
  add(K.CTC_LOSS, 'T=9 B=3 C=5 blank 4', 1e-5, (be) => {
    const x = randn(9 * 3 * 5, r, 2), loss = be.alloc([1]), [targets, targetLengths, inputLengths] = ints(be);
    run(be, K.CTC_LOSS, { x: up(be, x, [9, 3, 5]), targets, targetLengths, inputLengths, blank: 4, loss });
    return { read: [loss], want: [[ref.ctcLossRef(x, p)]] };
  });
  add(K.CTC_LOSS_BACKWARD, 'T=9 B=3 C=5 blank 4', 1e-5, (be) => {
    const x = randn(9 * 3 * 5, r, 2), acc = randn(x.length, r), dx = up(be, acc, [9, 3, 5]), [targets, targetLengths, inputLengths] = ints(be);
    run(be, K.CTC_LOSS_BACKWARD, { x: up(be, x, [9, 3, 5]), targets, targetLengths, inputLengths, blank: 4, dy: up(be, Float32Array.of(0.8), [1]), dx });
    return { read: [dx], want: [plus(acc, ref.ctcLossBackwardRef(x, p, 0.8))] };
  });
}
{
  // longer: 6 items over 29 classes (blank 0), targets of 0 to 70 labels, every fourth a repeat of the one before;
  // the 70-label target has 141 blank-extended positions (past one 128-wide workgroup); items of 1 and 3 frames
  const B = 6, T = 150, C = 29, maxLen = 70, lens = [25, 0, 7, 1, 70, 12], inLens = [60, 3, 150, 1, 150, 59];
  const targets = new Array<number>(B * maxLen).fill(0);
  for (let b = 0; b < B; b++) for (let j = 0; j < lens[b]!; j++) targets[b * maxLen + j] = j % 4 === 3 ? targets[b * maxLen + j - 1]! : 1 + Math.floor(r() * (C - 1));
  const p: ref.CtcProblem = { T, B, C, blank: 0, targets, maxLen, targetLengths: lens, inputLengths: inLens };
  const ints = (be: Backend) => [up(be, Int32Array.from(targets), [B, maxLen], 'i32'), up(be, Int32Array.from(lens), [B], 'i32'), up(be, Int32Array.from(inLens), [B], 'i32')] as const;
  add(K.CTC_LOSS, `T=${T} B=${B} C=${C} blank 0, targets up to ${maxLen}`, 1e-5, (be) => {
    const x = randn(T * B * C, r, 2), loss = be.alloc([1]), [tg, tl, il] = ints(be);
    run(be, K.CTC_LOSS, { x: upAt(be, x, [T, B, C]), targets: tg, targetLengths: tl, inputLengths: il, blank: 0, loss });
    return { read: [loss], want: [[ref.ctcLossRef(x, p)]] };
  });
  // 1e-4: WebGPU's recursions run in float32 (WGSL has no float64): alpha + beta - log p of a 150-frame item is a
  // difference of sums near -500, where a float32 step is 3e-5 (2.9e-5 measured on lavapipe)
  add(K.CTC_LOSS_BACKWARD, `T=${T} B=${B} C=${C} blank 0, targets up to ${maxLen} (accumulating)`, 1e-4, (be) => {
    const x = randn(T * B * C, r, 2), acc = randn(x.length, r, 0.01), dx = upAt(be, acc, [T, B, C], 3), [tg, tl, il] = ints(be);
    run(be, K.CTC_LOSS_BACKWARD, { x: upAt(be, x, [T, B, C]), targets: tg, targetLengths: tl, inputLengths: il, blank: 0, dy: upAt(be, Float32Array.of(0.8), [1], 2), dx });
    return { read: [dx], want: [plus(acc, ref.ctcLossBackwardRef(x, p, 0.8))] };
  });
}
/** ops whose checks need a structure built elsewhere, with the test that covers them */
// upsample2d vs its twin at odd sizes, and the 2x2 -> 4x4 example of PyTorch's nn.Upsample documentation
// (input [[1, 2], [3, 4]]), whose values are also the formulas written out: align_corners false reads rows/columns
// with weights [1, 0], [3/4, 1/4], [1/4, 3/4], [0, 1]; align_corners true gives 1 + 2 oh / 3 + ow / 3.
const upsampleCases: [number, number, number, K.Upsample2dParams][] = [
  [6, 7, 9, { scale: [2, 2], mode: 'nearest' }], [3, 5, 11, { scale: [3, 2], mode: 'nearest' }], [4, 9, 7, { scale: [2, 3], mode: 'bilinear' }],
  [5, 7, 5, { scale: [4, 4], mode: 'bilinear' }], [3, 7, 6, { scale: [2, 3], mode: 'bilinear', alignCorners: true }],
];
for (const [planes, H, W, p] of upsampleCases) {
  const desc = `${p.mode}${p.alignCorners ? ' align_corners' : ''} ${planes} planes ${H}x${W} x${p.scale.join('x')}`;
  add(K.UPSAMPLE2D, desc, 1e-6, (be) => {
    const x = randn(planes * H * W, r), out = be.alloc([1, planes, H * p.scale[0], W * p.scale[1]]);
    run(be, K.UPSAMPLE2D, { x: up(be, x, [1, planes, H, W]), out, p });
    return { read: [out], want: [ref.upsample2dRef(x, planes, H, W, p)] };
  });
  add(K.UPSAMPLE2D_BACKWARD, `${desc} (accumulating)`, 1e-5, (be) => {
    const dy = randn(planes * H * W * p.scale[0] * p.scale[1], r), acc = randn(planes * H * W, r), dx = up(be, acc, [planes, 1, H, W]);
    run(be, K.UPSAMPLE2D_BACKWARD, { dy: up(be, dy, [planes, 1, H * p.scale[0], W * p.scale[1]]), dx, p });
    return { read: [dx], want: [plus(acc, ref.upsample2dBackwardRef(dy, planes, H, W, p))] };
  });
}
{
  const x = Float32Array.from([1, 2, 3, 4]);
  const third = 1 / 3;
  const expected: [K.Upsample2dParams, number[]][] = [
    [{ scale: [2, 2], mode: 'nearest' }, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]],
    [{ scale: [2, 2], mode: 'bilinear' }, [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]],
    [{ scale: [2, 2], mode: 'bilinear', alignCorners: true }, Array.from({ length: 16 }, (_, i) => 1 + 2 * third * Math.floor(i / 4) + third * (i % 4))],
  ];
  for (const [p, want] of expected) {
    add(K.UPSAMPLE2D, `2x2 -> 4x4 ${p.mode}${p.alignCorners ? ' align_corners' : ''}: PyTorch's documented values`, 1e-7, (be) => {
      const out = be.alloc([1, 1, 4, 4]);
      run(be, K.UPSAMPLE2D, { x: up(be, x, [1, 1, 2, 2]), out, p });
      return { read: [out], want: [want] };
    });
  }
  // the adjoint by hand: a gradient of 1 at output (1, 1) reaches inputs with weights (3/4, 1/4) x (3/4, 1/4)
  add(K.UPSAMPLE2D_BACKWARD, '2x2 -> 4x4 bilinear: one-hot gradient at (1, 1) by hand', 1e-7, (be) => {
    const dy = new Float32Array(16);
    dy[5] = 1;
    const dx = up(be, new Float32Array(4), [1, 1, 2, 2]);
    run(be, K.UPSAMPLE2D_BACKWARD, { dy: up(be, dy, [1, 1, 4, 4]), dx, p: { scale: [2, 2], mode: 'bilinear' } });
    return { read: [dx], want: [[9 / 16, 3 / 16, 3 / 16, 1 / 16]] };
  });
}

// sigmoid over the whole float range (large |x| must not overflow exp), its backward accumulating
add(K.SIGMOID, 'n=1155, scale 8', 1e-6, (be) => {
  const x = randn(1155, r, 8), out = be.alloc([1155]);
  run(be, K.SIGMOID, { x: up(be, x, [1155]), out });
  return { read: [out], want: [ref.sigmoidRef(x)] };
});
add(K.SIGMOID, 'extremes: -100, -20, 0, 20, 100 by hand', 1e-7, (be) => {
  const out = be.alloc([5]);
  run(be, K.SIGMOID, { x: up(be, Float32Array.from([-100, -20, 0, 20, 100]), [5]), out });
  return { read: [out], want: [[Math.exp(-100) / (1 + Math.exp(-100)), Math.exp(-20) / (1 + Math.exp(-20)), 0.5, 1 / (1 + Math.exp(-20)), 1]] };
});
add(K.SIGMOID_BACKWARD, 'n=1155 (accumulating)', 1e-6, (be) => {
  const x = randn(1155, r, 3), dy = randn(1155, r), acc = randn(1155, r), y = Float32Array.from(ref.sigmoidRef(x)), dx = up(be, acc, [1155]);
  run(be, K.SIGMOID_BACKWARD, { y: up(be, y, [1155]), dy: up(be, dy, [1155]), dx });
  return { read: [dx], want: [plus(acc, Float64Array.from(y, (s, i) => dy[i]! * s * (1 - s)))] };
});

// the training ops with WGSL since the WebGPU training engine covers them: odd sizes (rows of 1001 and 257, not
// multiples of the 256-wide workgroups), some tensors as views at an element offset into a larger buffer
/** a tensor holding `data` as a view `pad` elements into its buffer (the kernels must honour the offset) */
function upAt(be: Backend, data: Float32Array, shape: readonly number[], pad = 5): Tensor {
  const t = be.alloc([pad + data.length]);
  be.write(t, Float32Array.from([...randn(pad, r), ...data]));
  return t.view(shape, pad);
}
add(K.GELU, 'n=7007, scale 6 (tanh saturated at both ends)', 1e-6, (be) => {
  const x = randn(7007, r, 6), out = be.alloc([7, 1001]);
  run(be, K.GELU, { x: upAt(be, x, [7, 1001]), out });
  return { read: [out], want: [ref.geluRef(x)] };
});
add(K.GELU_BACKWARD, 'n=7007, scale 6 (accumulating, views at offsets)', 1e-6, (be) => {
  const { x, dy, acc } = gradPair(7007, 6), dx = upAt(be, acc, [7007], 3);
  run(be, K.GELU_BACKWARD, { x: upAt(be, x, [7007], 7), dy: upAt(be, dy, [7007], 1), dx });
  return { read: [dx], want: [plus(acc, ref.geluBackwardRef(x, dy))] };
});
for (const [rows, n] of [[7, 1001], [3, 257]] as const) {
  add(K.LOG_SOFTMAX, `${rows}x${n} (views at offsets)`, 1e-6, (be) => {
    const x = randn(rows * n, r, 4), out = upAt(be, new Float32Array(rows * n).fill(7), [rows, n], 9);
    run(be, K.LOG_SOFTMAX, { x: upAt(be, x, [rows, n]), out });
    return { read: [out], want: [ref.logSoftmaxRef(x, n)] };
  });
  add(K.LOG_SOFTMAX_BACKWARD, `${rows}x${n} (accumulating)`, 1e-6, (be) => {
    const y = Float32Array.from(ref.logSoftmaxRef(randn(rows * n, r, 2), n)), { dy, acc } = gradPair(rows * n), dx = upAt(be, acc, [rows, n], 2);
    run(be, K.LOG_SOFTMAX_BACKWARD, { y: upAt(be, y, [rows, n], 4), dy: upAt(be, dy, [rows, n], 6), dx });
    return { read: [dx], want: [plus(acc, ref.logSoftmaxBackwardRef(y, dy, n))] };
  });
  add(K.SOFTMAX_BACKWARD, `${rows}x${n} (accumulating)`, 1e-6, (be) => {
    const y = Float32Array.from(ref.softmaxF64Ref(randn(rows * n, r, 2), n)), { dy, acc } = gradPair(rows * n), dx = upAt(be, acc, [rows, n], 2);
    run(be, K.SOFTMAX_BACKWARD, { y: upAt(be, y, [rows, n], 4), dy: upAt(be, dy, [rows, n], 6), dx });
    return { read: [dx], want: [plus(acc, ref.softmaxBackwardRef(y, dy, n))] };
  });
}
for (const [rows, C, T] of [[7, 1001, 3], [5, 257, 0.5]] as const) {
  add(K.KL_DIV, `T=${T}, ${rows} rows x ${C}`, 1e-5, (be) => {
    const s = randn(rows * C, r, 3), t = randn(rows * C, r, 3), ps = be.alloc([rows, C]), pt = be.alloc([rows, C]), loss = be.alloc([1]);
    run(be, K.KL_DIV, { student: upAt(be, s, [rows, C]), teacher: upAt(be, t, [rows, C], 3), T, ps, pt, loss });
    const sT = s.map((v) => v / T), tT = t.map((v) => v / T);
    return { read: [ps, pt, loss], want: [ref.softmaxF64Ref(sT, C), ref.softmaxF64Ref(tT, C), [ref.klDivRef(s, t, C, T)]] };
  });
  add(K.KL_DIV_BACKWARD, `T=${T}, ${rows} rows x ${C} (accumulating)`, 1e-6, (be) => {
    const s = randn(rows * C, r, 3), t = randn(rows * C, r, 3), acc = randn(rows * C, r, 0.01), ds = upAt(be, acc, [rows, C], 1);
    const ps = Float32Array.from(ref.softmaxF64Ref(s.map((v) => v / T), C)), pt = Float32Array.from(ref.softmaxF64Ref(t.map((v) => v / T), C));
    run(be, K.KL_DIV_BACKWARD, { ps: upAt(be, ps, [rows, C], 2), pt: upAt(be, pt, [rows, C], 3), dy: upAt(be, Float32Array.of(0.75), [1], 4), T, ds });
    return { read: [ds], want: [plus(acc, ref.klDivBackwardRef(s, t, C, T, 0.75))] };
  });
}
for (const [rows, n, bias] of [[7, 1001, false], [5, 257, true]] as const) {
  // rows centred at 3, not 0: the mean matters (a kernel that skipped subtracting it would fail)
  const xOf = () => randn(rows * n, r, 2).map((v) => v + 3);
  add(K.LAYER_NORM, `${rows}x${n} ${bias ? 'with' : 'without'} bias, mean 3`, 1e-5, (be) => {
    const x = xOf(), w = randn(n, r), b = randn(n, r), out = be.alloc([rows, n]), mean = be.alloc([rows]), rstd = be.alloc([rows]);
    run(be, K.LAYER_NORM, { x: upAt(be, x, [rows, n]), w: upAt(be, w, [n], 3), b: bias ? upAt(be, b, [n], 2) : null, eps: 1e-5, out, mean, rstd });
    const mu = Array.from({ length: rows }, (_, i) => x.subarray(i * n, (i + 1) * n).reduce((a, c) => a + c, 0) / n);
    const rs = mu.map((m, i) => 1 / Math.sqrt(x.subarray(i * n, (i + 1) * n).reduce((a, c) => a + (c - m) ** 2, 0) / n + 1e-5));
    return { read: [out, mean, rstd], want: [ref.layerNormRef(x, w, bias ? b : null, 1e-5), mu, rs] };
  });
  for (const which of ['all', 'dx', 'dw', 'db'] as const) {
    add(K.LAYER_NORM_BACKWARD, `${rows}x${n}, ${which === 'all' ? 'dx dw db' : `${which} only`} (accumulating)`, 1e-5, (be) => {
      const x = xOf(), w = randn(n, r), dy = randn(rows * n, r), ax = randn(rows * n, r), aw = randn(n, r), ab = randn(n, r);
      const mu = Float32Array.from({ length: rows }, (_, i) => x.subarray(i * n, (i + 1) * n).reduce((a, c) => a + c, 0) / n);
      const rs = Float32Array.from({ length: rows }, (_, i) => 1 / Math.sqrt(x.subarray(i * n, (i + 1) * n).reduce((a, c) => a + (c - mu[i]!) ** 2, 0) / n + 1e-5));
      const dx = upAt(be, ax, [rows, n], 1), dw = upAt(be, aw, [n], 2), db = upAt(be, ab, [n], 3), want = (k: string) => which === 'all' || which === k;
      run(be, K.LAYER_NORM_BACKWARD, { x: upAt(be, x, [rows, n]), w: upAt(be, w, [n], 4), mean: upAt(be, mu, [rows], 6), rstd: upAt(be, rs, [rows], 7), dy: upAt(be, dy, [rows, n], 8),
        dx: want('dx') ? dx : null, dw: want('dw') ? dw : null, db: want('db') ? db : null });
      const g = ref.layerNormBackwardRef(x, w, 1e-5, dy);
      return { read: [dx, dw, db], want: [want('dx') ? plus(ax, g.dx) : ax, want('dw') ? plus(aw, g.dw) : aw, want('db') ? plus(ab, g.db) : ab] };
    });
  }
}
for (const [p, seed] of [[0.4, 2 ** 32 - 5], [0.1, 12345]] as const) {
  add(K.DROPOUT, `p=${p} seed ${seed} n=70001: the twin's mask exactly`, 1e-7, (be) => {
    const x = randn(70001, r), out = be.alloc([70001]);
    run(be, K.DROPOUT, { x: upAt(be, x, [70001]), out, p, seed });
    return { read: [out], want: [ref.dropoutRef(x, p, seed)] };
  });
  add(K.DROPOUT, `p=${p} seed ${seed} n=70001 accumulating (the backward)`, 1e-7, (be) => {
    const dy = randn(70001, r), acc = randn(70001, r), dx = upAt(be, acc, [70001], 3);
    run(be, K.DROPOUT, { x: upAt(be, dy, [70001]), out: dx, p, seed, accumulate: true });
    return { read: [dx], want: [plus(acc, ref.dropoutRef(dy, p, seed))] };
  });
}

const COVERED_ELSEWHERE: Record<string, string> = { kv_attention: 'test/kv.test.ts (the packed KV cache vs dequantize-then-attend at every step)' };

const backends: Backend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }), await CpuBackend.create({ threads: 2, simd: 'simd128' }));
  const g = await WebGpuBackend.tryCreate();
  if (typeof g === 'string') console.log(`# webgpu cases skipped: ${g}`);
  else backends.push(g);
});
after(async () => { for (const b of backends) await b.dispose(); });

describe('every op on every backend vs its twin', () => {
  test('every registered op has cases', () => {
    const missing = K.OPS.filter((op) => !cases.some((c) => c.op === op) && !COVERED_ELSEWHERE[op.name]).map((op) => op.name);
    assert.deepEqual(missing, [], `ops without a case in test/backend-ops.test.ts: ${missing.join(', ')}`);
  });

  for (const c of cases) {
    test(`${c.op.name}: ${c.name}`, async (t) => {
      const on = backends.filter((be) => be.supports(c.op));
      if (on.length === 0) return t.skip(`no backend here implements ${c.op.name}`);
      for (const be of on) {
        const built = c.build(be), { read, want } = built;
        for (let i = 0; i < read.length; i++) {
          const t = read[i]!, isInt = built.i32?.includes(i) ?? false;
          // an i32 tensor is read through an f32 alias of its storage (backends read f32), then reinterpreted
          const raw = await be.read(isInt ? new Tensor(t.storage, 'f32', t.shape, t.offset) : t);
          const got = isInt ? Float64Array.from(new Int32Array(raw.buffer, raw.byteOffset, raw.length)) : raw;
          const err = relErr(got, want[i]!);
          assert.ok(err <= c.tol, `${be.description}: ${c.op.name} ${c.name} output ${i}: rel err ${err} > ${c.tol} ${seedNote()}`);
        }
      }
    });
  }
});
