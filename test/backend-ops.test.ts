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
// conv2d at odd sizes: plain, strided + dilated + asymmetric padding (SAME_UPPER-like), grouped, depthwise
const convCases: [string, number, number, number, number, number, K.Conv2dParams, boolean][] = [
  ['3x7x9 -> 5, 3x3', 2, 3, 7, 9, 5, { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, true],
  ['stride 2,1 dilation 2,1 pads 0,1,1,2', 3, 4, 11, 10, 6, { kernel: [3, 2], stride: [2, 1], dilation: [2, 1], pad: [0, 1, 1, 2], groups: 1 }, true],
  ['groups 2, 5x5', 1, 6, 13, 9, 4, { kernel: [5, 5], stride: [1, 2], dilation: [1, 1], pad: [2, 2, 2, 2], groups: 2 }, false],
  ['depthwise 3x3 stride 2', 2, 5, 9, 7, 5, { kernel: [3, 3], stride: [2, 2], dilation: [1, 1], pad: [1, 0, 1, 1], groups: 5 }, true],
  ['1x1, 37 channels', 1, 37, 5, 3, 11, { kernel: [1, 1], stride: [1, 1], dilation: [1, 1], pad: [0, 0, 0, 0], groups: 1 }, true],
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
/** ops whose checks need a structure built elsewhere, with the test that covers them */
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
