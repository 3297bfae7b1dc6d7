// Hadamard family, the online Hadamard and activation fake-quant kernels against their twins, and (below) the
// computational invariance of fused norms and R1-R4 rotations.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import * as ref from '../src/kernels/reference/index.js';
import { HADAMARD_BASES, hadamardBase, hadamardMatrix, hadamardRowsRef, hadamardSize } from '../src/quant/rotation/hadamard.js';
import { loadModel } from '../src/io/load-model.js';
import type { LlamaModel } from '../src/models/llama/model.js';
import { applyRotations, fuseNorms, randomHadamard } from '../src/quant/rotation/rotate.js';
import { onlineHook } from '../src/quant/rotation/online.js';
import { randn, relErr, rng, seedNote } from './helpers.js';
import { tinyWeights, TinySpec, writeTinyModel } from './tiny-models.js';

const r = rng();
const backends: CpuBackend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }), await CpuBackend.create({ threads: 2, simd: 'simd128' }));
});
after(async () => { for (const b of backends) await b.dispose(); });

const supported = [1, ...HADAMARD_BASES.filter((K) => hadamardSize(K) !== null)];

describe('Hadamard matrices', () => {
  test('every base is a +-1 matrix with H H^T = K I', () => {
    assert.ok(supported.includes(12) && supported.includes(36) && supported.includes(156), `bases: ${supported}`);
    for (const K of supported) {
      const H = hadamardBase(K);
      assert.ok(H.every((v) => v === 1 || v === -1), `K=${K} has entries other than +-1`);
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < K; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += H[i * K + k]! * H[j * K + k]!;
          assert.equal(s, i === j ? K : 0, `K=${K} rows ${i},${j}`);
        }
      }
    }
  });

  test('the normalised matrices are orthogonal (K * 2^m)', () => {
    for (const n of [1, 2, 8, 12, 24, 40, 96, 156, 384]) {
      const H = hadamardMatrix(n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += H[i * n + k]! * H[j * n + k]!;
          worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
        }
      }
      assert.ok(worst < 1e-12, `n=${n}: |H H^T - I| = ${worst}`);
    }
    assert.equal(hadamardSize(44), null);
    assert.equal(hadamardSize(1152)?.K, 36);
  });

  test('fast transform = dense matrix, and the kernel = its twin', async () => {
    for (const n of [1, 2, 4, 8, 12, 24, 48, 64, 156, 1152]) {
      const rows = 3 + Math.floor(r() * 5), x = randn(rows * n, r);
      const H = hadamardMatrix(n), want = new Float32Array(rows * n);
      for (let i = 0; i < rows; i++) for (let c = 0; c < n; c++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += x[i * n + k]! * H[k * n + c]!;
        want[i * n + c] = s;
      }
      const twin = Float32Array.from(x);
      hadamardRowsRef(twin, rows, n);
      assert.ok(relErr(twin, want) < 1e-6, `twin n=${n}`);
      for (const be of backends) {
        const t = be.alloc([rows, n]);
        be.write(t, x);
        be.hadamard(t, n);
        assert.ok(relErr(await be.read(t), want) < 1e-5, `kernel n=${n} threads=${be.threads} ${seedNote()}`);
        be.free(t);
      }
    }
  });
});

describe('activation fake-quantization kernel', () => {
  test('bit-exact with its twin: asym/sym, 2-8 bits, groups, clip, an all-zero group', async () => {
    for (const be of backends) {
      for (const [rows, n, group] of [[5, 64, 64], [7, 96, 32], [1, 13, 13], [4, 384, 64]] as const) {
        for (const asym of [true, false]) {
          for (const bits of [2, 4, 8]) {
            const x = randn(rows * n, r, 3);
            for (let i = 0; i < group; i++) x[i] = 0;
            x[group + 1] = 40 * (r() + 0.5); // an outlier
            const p = { n, group, bits, asym, clip: r() < 0.5 ? 1 : 0.9 };
            const t = be.alloc([rows, n]);
            be.write(t, x);
            be.fakeQuant(t, p);
            const got = await be.read(t), want = ref.fakeQuantRef(x, p);
            for (let i = 0; i < x.length; i++) assert.equal(got[i], want[i], `${JSON.stringify(p)} [${i}] of ${x[i]} ${seedNote()}`);
            be.free(t);
          }
        }
      }
    }
  });
});

/** A random orthogonal matrix (Gram-Schmidt on Gaussian columns), to test R1/R2 beyond Hadamards. */
function randomOrthogonal(n: number): Float64Array {
  const Q = Float64Array.from(randn(n * n, r));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += Q[i * n + k]! * Q[j * n + k]!;
      for (let k = 0; k < n; k++) Q[i * n + k] -= d * Q[j * n + k]!;
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += Q[i * n + k]! ** 2;
    for (let k = 0; k < n; k++) Q[i * n + k] /= Math.sqrt(norm);
  }
  return Q;
}

describe('computational invariance of the rotated model', () => {
  const specs: [string, TinySpec][] = [
    ['llama, tied embeddings, GQA, hidden 96 = 12 x 8', { modelType: 'llama', dtype: 'f32', dim: 64, hidden: 96, layers: 2, heads: 4, kvHeads: 2, vocab: 61, tied: true }],
    ['qwen2 (q/k/v biases), hidden 80 = 20 x 4', { modelType: 'qwen2', dim: 48, hidden: 80, layers: 2, heads: 4, kvHeads: 4, vocab: 53, tied: false, dtype: 'f32' }],
  ];
  for (const [name, spec] of specs) {
    test(`fused norms + R1 + R2 + R4 + online R3/R4 keep the logits (${name})`, async () => {
      const be = backends[1]!;
      const dir = writeTinyModel(spec, tinyWeights(spec, r));
      const ids = Array.from({ length: 19 }, () => Math.floor(r() * spec.vocab));
      const logits = async (m: LlamaModel) => Float32Array.from(await be.read(m.forward(ids)));
      const base = await loadModel(be, dir);
      const want = await logits(base);
      const D = spec.dim / spec.heads, kv = spec.kvHeads;
      for (const r1 of ['random Hadamard', 'random orthogonal']) {
        const m = await loadModel(be, dir);
        await fuseNorms(m);
        const fused = await logits(m);
        assert.ok(relErr(fused, want) < 1e-4, `fused norms alone: ${relErr(fused, want)}`);
        await applyRotations(m, {
          r1: r1 === 'random Hadamard' ? randomHadamard(spec.dim, r) : randomOrthogonal(spec.dim),
          r2: Array.from({ length: spec.layers }, () => Array.from({ length: kv }, () => randomOrthogonal(D))),
          r4: true,
        });
        const noOnline = await logits(m);
        assert.ok(relErr(noOnline, want) > 1e-2, 'without the online R4 the fused W_down must not match (the test can fail)');
        m.activationHook = onlineHook(m, { r3: D === 16 || D === 12, r4: true, act: null, k: null, v: null });
        const got = await logits(m);
        assert.ok(relErr(got, want) < 1e-3, `${r1}: rel. error ${relErr(got, want)} ${seedNote()}`);
      }
    });
  }

  test('R3 alone cancels inside Q K^T', async () => {
    const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 32, hidden: 64, layers: 1, heads: 2, kvHeads: 1, vocab: 41, tied: false };
    const be = backends[0]!;
    const dir = writeTinyModel(spec, tinyWeights(spec, r));
    const ids = Array.from({ length: 11 }, () => Math.floor(r() * spec.vocab));
    const m = await loadModel(be, dir);
    const want = Float32Array.from(await be.read(m.forward(ids)));
    m.activationHook = onlineHook(m, { r3: true, r4: false, act: null, k: null, v: null });
    assert.ok(relErr(await be.read(m.forward(ids)), want) < 1e-5);
  });
});
