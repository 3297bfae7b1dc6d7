// Every WebAssembly kernel against its plain-TS twin on fresh random inputs of odd sizes, 1 and 2+ threads.
import * as ops from '../src/ops/index.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import * as ref from './reference.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../src/tensor/dtype.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();
const backends: CpuBackend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }), await CpuBackend.create({ threads: 2, simd: 'simd128' }));
});
after(async () => { for (const b of backends) await b.dispose(); });

function upload(be: CpuBackend, data: Float32Array, shape: number[]) {
  const t = be.alloc(shape);
  be.write(t, data);
  return t;
}

describe('kernels vs reference', () => {
  test('linear (sgemm and gemv), odd sizes, with and without bias', async () => {
    for (const be of backends) {
      for (const [M, N, K] of [[1, 37, 53], [1, 8, 4], [3, 29, 300], [4, 8, 1], [17, 45, 263], [64, 130, 517], [5, 1024, 96], [2, 7, 3]] as const) {
        for (const withBias of [false, true]) {
          const a = randn(M * K, r), w = randn(N * K, r), bias = withBias ? randn(N, r) : null;
          const ta = upload(be, a, [M, K]), tw = upload(be, w, [N, K]), tb = bias ? upload(be, bias, [N]) : null;
          const out = be.alloc([M, N]);
          ops.linear(be, ta, tw, tb, out);
          const err = relErr(await be.read(out), ref.linearRef(a, w, bias, M, N, K));
          assert.ok(err < 1e-5, `${be.description} M=${M} N=${N} K=${K} bias=${withBias}: rel err ${err} ${seedNote()}`);
          for (const t of [ta, tw, out]) be.free(t);
          if (tb) be.free(tb);
        }
      }
    }
  });

  test('rmsnorm, softmax, logsumexp', async () => {
    for (const be of backends) {
      for (const [rows, n] of [[1, 7], [5, 64], [13, 385], [3, 8192]] as const) {
        const x = randn(rows * n, r, 3), w = randn(n, r);
        const tx = upload(be, x, [rows, n]), tw = upload(be, w, [n]), out = be.alloc([rows, n]);
        ops.rmsnorm(be, tx, tw, 1e-5, out);
        assert.ok(relErr(await be.read(out), ref.rmsnormRef(x, w, 1e-5)) < 1e-5, `rmsnorm ${rows}x${n} ${seedNote()}`);
        const lse = be.alloc([rows]);
        ops.logsumexp(be, tx, lse);
        assert.ok(relErr(await be.read(lse), ref.logsumexpRef(x, n)) < 1e-5, `logsumexp ${rows}x${n} ${seedNote()}`);
        ops.softmax(be, tx);
        assert.ok(relErr(await be.read(tx), ref.softmaxRef(x, n)) < 1e-5, `softmax ${rows}x${n} ${seedNote()}`);
        for (const t of [tx, tw, out, lse]) be.free(t);
      }
    }
  });

  test('silu*mul, add, exp approximation', async () => {
    for (const be of backends) {
      for (const n of [1, 7, 1155, 40001]) {
        const g = randn(n, r, 4), u = randn(n, r);
        const tg = upload(be, g, [n]), tu = upload(be, u, [n]), out = be.alloc([n]);
        ops.siluMul(be, tg, tu, out);
        assert.ok(relErr(await be.read(out), ref.siluMulRef(g, u)) < 1e-5, `silu_mul n=${n} ${seedNote()}`);
        ops.addInPlace(be, tg, tu);
        assert.ok(relErr(await be.read(tg), g.map((v, i) => v + u[i]!)) < 1e-6, `add n=${n}`);
        for (const t of [tg, tu, out]) be.free(t);
      }
    }
    for (const x of [-86, -20.5, -1e-3, 0, 0.5, 3.3, 40, 88]) {
      const got = backends[0]!.exported("exp_f32")(x);
      assert.ok(Math.abs(got - Math.exp(x)) / Math.exp(x) < 1e-6, `exp(${x}) = ${got}`);
    }
  });

  test('rope, both pairings, with a position offset', async () => {
    for (const be of backends) {
      for (const neox of [true, false]) {
        for (const [T, heads, hd, pos0] of [[1, 3, 8, 5], [7, 6, 64, 0], [5, 2, 12, 17], [3, 4, 6, 2]] as const) {
          const stride = heads * hd + 4; // rows wider than the rotated heads, as in a fused projection
          const { cos, sin } = ropeTables(64, hd, 10000);
          const x = randn(T * stride, r);
          const tx = upload(be, x, [T, stride]), tc = upload(be, cos, [64, hd / 2]), ts = upload(be, sin, [64, hd / 2]);
          const p = { T, heads, headDim: hd, pos0, neox };
          ops.rope(be, tx, tc, ts, p);
          const want = x.slice();
          ref.ropeRef(want, stride, cos, sin, p);
          assert.ok(relErr(await be.read(tx), want) < 1e-6, `rope neox=${neox} T=${T} hd=${hd} ${seedNote()}`);
          for (const t of [tx, tc, ts]) be.free(t);
        }
      }
    }
  });

  test('causal GQA attention (online softmax) incl. cache offset and sliding window', async () => {
    for (const be of backends) {
      for (const [T, pos0, nH, nKV, hd, window] of [[1, 0, 2, 1, 8, 0], [9, 0, 6, 2, 64, 0], [1, 130, 4, 4, 8, 0], [70, 5, 4, 2, 12, 0], [33, 40, 3, 1, 16, 20]] as const) {
        const S = pos0 + T;
        const q = randn(T * nH * hd, r), k = randn(S * nKV * hd, r), v = randn(S * nKV * hd, r);
        const p = { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0, window, scale: 1 / Math.sqrt(hd) };
        const tq = upload(be, q, [T, nH * hd]), tk = upload(be, k, [S, nKV * hd]), tv = upload(be, v, [S, nKV * hd]);
        const out = be.alloc([T, nH * hd]);
        ops.attention(be, tq, tk, tv, out, p);
        const err = relErr(await be.read(out), ref.attentionRef(q, k, v, p));
        assert.ok(err < 1e-5, `attention T=${T} pos0=${pos0} heads=${nH}/${nKV} hd=${hd} window=${window}: ${err} ${seedNote()}`);
        for (const t of [tq, tk, tv, out]) be.free(t);
      }
    }
  });

  test('embedding gather and f16/bf16 conversion', async () => {
    for (const be of backends) {
      const V = 37, dim = 23, T = 11;
      const table = randn(V * dim, r);
      const ids = Int32Array.from({ length: T }, () => Math.floor(r() * V));
      const tt = upload(be, table, [V, dim]), ti = be.alloc([T], 'i32'), out = be.alloc([T, dim]);
      be.write(ti, ids);
      ops.embed(be, tt, ti, out);
      assert.deepEqual(await be.read(out), ref.embedRef(table, dim, ids));
      for (const n of [1, 9, 1003]) {
        const vals = randn(n, r, 100);
        vals[0] = n > 5 ? 3e-6 : vals[0]!; // a half-precision subnormal
        if (n > 5) { vals[1] = Infinity; vals[2] = -7e4; vals[3] = NaN; }
        for (const [dtype, conv, back] of [['f16', f32ToF16Bits, ref.f16ToF32Ref], ['bf16', f32ToBf16Bits, ref.bf16ToF32Ref]] as const) {
          const bits = Uint16Array.from(vals, conv);
          const src = be.alloc([n], dtype), dst = be.alloc([n]);
          be.write(src, bits);
          ops.toF32(be, src, dst);
          const got = await be.read(dst), want = back(bits);
          for (let i = 0; i < n; i++) assert.ok(Object.is(got[i], want[i]) || got[i] === want[i], `${dtype}[${i}] ${got[i]} vs ${want[i]}`);
          be.free(src); be.free(dst);
        }
      }
      for (const t of [tt, ti, out]) be.free(t);
    }
  });

  test('rounding to f16 / bf16 values (activations of a half-precision model)', async () => {
    for (const be of backends) {
      for (const n of [1, 7, 4099]) {
        const vals = randn(n, r, 10);
        if (n > 5) {
          // half subnormals and ties, the overflow edge, non-finite values, scales far apart
          vals[0] = 3e-6; vals[1] = -1.5 * 2 ** -24; vals[2] = 65519; vals[3] = 65520; vals[4] = -7e4;
          vals[5] = NaN; vals[6] = Infinity;
          for (let i = 7; i < n; i += 3) vals[i]! *= 10 ** Math.floor(r() * 12 - 8);
        }
        for (const dtype of ['f16', 'bf16'] as const) {
          const t = upload(be, vals, [n]);
          ops.roundTo(be, t, dtype);
          const got = await be.read(t), want = ref.roundToRef(vals, dtype);
          for (let i = 0; i < n; i++) assert.ok(Object.is(got[i], want[i]), `${dtype}[${i}] of ${vals[i]}: ${got[i]} vs ${want[i]}`);
          be.free(t);
        }
      }
    }
  });
});
