// Non-causal attention (p.causal false: every query sees all S keys): the twins against a naive
// softmax(scale q k^T) v written out here, the refusal of pos0 / window, and causal: true being today's causal op.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import * as K from '../src/kernels/index.js';
import { run } from '../src/ops/index.js';
import * as ref from './reference.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();
let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

/** per query head h (kv head h / group): P = softmax_rows(scale Q_h K_g^T) [T, S], out_h = P V_g; float64 */
function naive(q: Float32Array, k: Float32Array, v: Float32Array, T: number, S: number, nH: number, nKV: number, hd: number, scale: number): Float64Array {
  const out = new Float64Array(T * nH * hd);
  for (let h = 0; h < nH; h++) {
    const g = Math.floor(h / (nH / nKV));
    const Q = (t: number, e: number) => q[t * nH * hd + h * hd + e]!, Kx = (j: number, e: number) => k[j * nKV * hd + g * hd + e]!, V = (j: number, e: number) => v[j * nKV * hd + g * hd + e]!;
    for (let t = 0; t < T; t++) {
      const s = Array.from({ length: S }, (_, j) => { let d = 0; for (let e = 0; e < hd; e++) d += Q(t, e) * Kx(j, e); return scale * d; });
      const m = Math.max(...s), ex = s.map((x) => Math.exp(x - m)), z = ex.reduce((a, b) => a + b, 0);
      for (let e = 0; e < hd; e++) { let a = 0; for (let j = 0; j < S; j++) a += (ex[j]! / z) * V(j, e); out[t * nH * hd + h * hd + e] = a; }
    }
  }
  return out;
}

describe('non-causal attention', () => {
  test('the twins equal a naive softmax(scale q k^T) v over all keys (T < S, T > S, GQA)', () => {
    for (const [T, S, nH, nKV, hd] of [[3, 8, 4, 2, 8], [9, 4, 6, 3, 4], [5, 5, 2, 2, 12]] as const) {
      const q = randn(T * nH * hd, r), k = randn(S * nKV * hd, r), v = randn(S * nKV * hd, r), scale = 0.4;
      const p = { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0: 0, window: 0, scale, causal: false };
      const want = naive(q, k, v, T, S, nH, nKV, hd, scale);
      assert.ok(relErr(ref.attentionF64Ref(q, k, v, p), want) < 1e-12, `float64 twin T=${T} S=${S} ${seedNote()}`);
      assert.ok(relErr(ref.attentionRef(q, k, v, p), want) < 1e-6, `f32 twin T=${T} S=${S} ${seedNote()}`);
      // and it is not the causal result (the last key is visible to the first query)
      if (T <= S) assert.ok(relErr(ref.attentionF64Ref(q, k, v, { ...p, causal: true }), want) > 1e-3);
    }
  });

  test('causal: true runs exactly the causal op; pos0 or window with causal: false is refused', async () => {
    const [T, S, nH, nKV, hd] = [7, 10, 4, 2, 8];
    const q = randn(T * nH * hd, r), k = randn(S * nKV * hd, r), v = randn(S * nKV * hd, r);
    const up = (x: Float32Array, shape: number[]) => { const t = be.alloc(shape); be.write(t, x); return t; };
    const tq = up(q, [T, nH * hd]), tk = up(k, [S, nKV * hd]), tv = up(v, [S, nKV * hd]), a = be.alloc([T, nH * hd]), b = be.alloc([T, nH * hd]);
    const p = { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0: 3, window: 0, scale: 0.3 };
    run(be, K.ATTENTION, { q: tq, k: tk, v: tv, out: a, p });
    run(be, K.ATTENTION, { q: tq, k: tk, v: tv, out: b, p: { ...p, causal: true } });
    assert.deepEqual(await be.read(b), await be.read(a));
    assert.throws(() => run(be, K.ATTENTION, { q: tq, k: tk, v: tv, out: a, p: { ...p, causal: false } }), /non-causal attention takes pos0 = 0 and window = 0, got pos0=3 window=0/);
    assert.throws(() => run(be, K.ATTENTION, { q: tq, k: tk, v: tv, out: a, p: { ...p, pos0: 0, window: 4, causal: false } }), /pos0=0 window=4/);
    for (const t of [tq, tk, tv, a, b]) be.free(t);
  });
});
