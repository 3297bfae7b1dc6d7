// Hadamard family, the online Hadamard and activation fake-quant kernels against their twins, and (below) the
// computational invariance of fused norms and R1-R4 rotations.
import * as ops from '../src/ops/index.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import * as ref from './reference.js';
import { HADAMARD_BASES, hadamardBase, hadamardMatrix, hadamardSize } from '../src/linalg/hadamard.js';
import { loadModel } from '../src/load/load-model.js';
import type { DecoderModel } from '../src/models/index.js';
import { applyRotations, fuseNorms, randomHadamard } from '../src/quant/rotation/rotate.js';
import { onlineHook } from '../src/quant/rotation/online.js';
import { qr, qrBackward } from '../src/linalg/qr.js';
import { Captured, DART_DEFAULTS, trainR1, trainR2, whip, whipLoss } from '../src/quant/rotation/dartquant.js';
import { seededRandom } from '../src/util/random.js';
import { randn, relErr, rng, seedNote } from './helpers.js';
import { tinyWeights, TinySpec, writeTinyModel } from './tiny-models.js';

const r = rng();
const backends: CpuBackend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }), await CpuBackend.create({ threads: 2, simd: 'simd128' }));
});
after(async () => { for (const b of backends) await b.dispose(); });

const supported = [1, ...HADAMARD_BASES];

describe('Hadamard matrices', () => {
  test('every base is a +-1 matrix with H H^T = K I', () => {
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
    assert.equal(hadamardSize(11008)?.K, 172); // LLaMA-2-7B's MLP
    assert.equal(hadamardSize(14336)?.K, 28); // LLaMA-3-8B's MLP
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
      ref.hadamardRowsRef(twin, rows, n);
      assert.ok(relErr(twin, want) < 1e-6, `twin n=${n}`);
      for (const be of backends) {
        const t = be.alloc([rows, n]);
        be.write(t, x);
        ops.hadamard(be, t, n);
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
            ops.fakeQuant(be, t, p);
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
      const logits = async (m: DecoderModel) => Float32Array.from(await be.read(m.forward(ids)));
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

  test('activationDType f16: every logit is an f16 value, close to the f32 logits but not equal', async () => {
    const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 32, hidden: 64, layers: 2, heads: 4, kvHeads: 2, vocab: 41, tied: false };
    const be = backends[1]!;
    const m = await loadModel(be, writeTinyModel(spec, tinyWeights(spec, r)));
    const ids = Array.from({ length: 13 }, () => Math.floor(r() * spec.vocab));
    const f32 = Float32Array.from(await be.read(m.forward(ids)));
    m.activationDType = 'f16';
    const f16 = Float32Array.from(await be.read(m.forward(ids)));
    assert.deepEqual(f16, ref.roundToRef(f16, 'f16'), 'logits must be f16 values');
    const err = relErr(f16, f32);
    assert.ok(err > 0 && err < 5e-3, `f16 activations: rel. error ${err}`);
  });

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

describe('DartQuant pieces', () => {
  test('QR backward matches finite differences; Q is orthogonal and Q R = A', () => {
    for (const n of [2, 5, 9]) {
      const A = Float64Array.from(randn(n * n, r)), W = Float64Array.from(randn(n * n, r));
      const loss = (a: Float64Array) => { const { Q } = qr(a, n); let s = 0; for (let i = 0; i < n * n; i++) s += W[i]! * Q[i]! + 0.25 * Q[i]! ** 4; return s; };
      const f = qr(A, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let qq = 0, qrv = 0;
        for (let k = 0; k < n; k++) { qq += f.Q[k * n + i]! * f.Q[k * n + j]!; qrv += f.Q[i * n + k]! * f.R[k * n + j]!; }
        assert.ok(Math.abs(qq - (i === j ? 1 : 0)) < 1e-12 && Math.abs(qrv - A[i * n + j]!) < 1e-12);
      }
      const g = qrBackward(f, f.Q.map((q, i) => W[i]! + q ** 3));
      for (let i = 0; i < n * n; i++) {
        const e = 1e-6, a = Float64Array.from(A), b = Float64Array.from(A);
        a[i] += e; b[i] -= e;
        const fd = (loss(a) - loss(b)) / (2 * e);
        assert.ok(Math.abs(fd - g[i]!) < 1e-6 * Math.max(1, Math.abs(fd)), `n=${n} [${i}]: ${g[i]} vs finite difference ${fd} ${seedNote()}`);
      }
    }
  });

  test('the Whip gradient (backend sgemm) matches finite differences of the float64 loss', async () => {
    const be = backends[0]!, n = 8, rows = 37;
    const X = randn(rows * n, r, 2), Q = qr(Float64Array.from(randn(n * n, r)), n).Q;
    const { loss, gQ } = await whip(be, X, rows, n, Q);
    assert.ok(Math.abs(loss - whipLoss(X, rows, n, Q)) < 1e-4 * loss);
    for (let i = 0; i < n * n; i += 7) {
      const e = 1e-5, a = Float64Array.from(Q), b = Float64Array.from(Q);
      a[i] += e; b[i] -= e;
      const fd = (whipLoss(X, rows, n, a) - whipLoss(X, rows, n, b)) / (2 * e);
      assert.ok(Math.abs(fd - gQ[i]!) < 2e-3 * Math.max(1, Math.abs(fd)), `[${i}] ${gQ[i]} vs ${fd}`);
    }
  });

  test('a Hadamard rotation lowers the Whip loss of heavy-tailed activations', () => {
    const n = 64, rows = 200, X = new Float32Array(rows * n);
    for (let t = 0; t < rows; t++) {
      for (let c = 0; c < n; c++) X[t * n + c] = (r() - 0.5) * 0.2;
      X[t * n + 3] = 20 * (r() + 0.5); // outlier channels, as in LLM activations
      X[t * n + 17] = -15 * (r() + 0.5);
    }
    const raw = whipLoss(X, rows, n, null), rotated = whipLoss(X, rows, n, hadamardMatrix(n));
    assert.ok(rotated < raw, `Whip ${rotated} (rotated) vs ${raw} (raw)`);
  });

  test('R1/R2 training keeps Q^T Q = I within 1e-5 after every step and lowers the Whip loss', async () => {
    const be = backends[1]!, dim = 16, layers = 2, windows = 6, tokens = 20, heads = 4, kv = 2, D = 8;
    const o = { ...DART_DEFAULTS, seed: 5, epochs: 30, subset: 0.5, bsz: 4, r1Lr: 0.02, r2Lr: 0.02 };
    // data whose outlier channel the initial rotation (the same random Hadamard R0 trainR1 starts from) maps back
    // onto one channel: X = Y R0^T, so X R0 = Y is as peaked as it gets and training has room to flatten it
    const R0 = randomHadamard(dim, seededRandom(o.seed + 2));
    const peaked = (len: number, width: number, R: Float64Array | null) => {
      const y = randn(len * width, r, 0.3);
      for (let t = 0; t < len; t++) y[t * width + 1] = 6 + r();
      if (!R) return y;
      const x = new Float32Array(y.length);
      for (let t = 0; t < len; t++) for (let i = 0; i < width; i++) {
        let s = 0;
        for (let j = 0; j < width; j++) s += y[t * width + j]! * R[i * width + j]!;
        x[t * width + i] = s;
      }
      return x;
    };
    const cap: Captured = { r1: Array.from({ length: windows * layers * 2 }, () => peaked(tokens, dim, R0)), r2: [], tokens, bytes: 0, seconds: 0 };
    const { r1, log } = await trainR1(be, cap, dim, layers, o);
    assert.ok(log.steps >= 30 && log.maxOrthError < 1e-5, `steps ${log.steps}, orth error ${log.maxOrthError}`);
    const all = new Float32Array(cap.r1.length * tokens * dim);
    cap.r1.forEach((x, i) => all.set(x, i * tokens * dim));
    const before = whipLoss(all, cap.r1.length * tokens, dim, R0), after = whipLoss(all, cap.r1.length * tokens, dim, r1);
    assert.ok(after < before, `R1 must lower the loss of its data: ${before} -> ${after} ${seedNote()}`);
    for (const fixedSubset of [false, true]) assert.ok((await trainR1(be, cap, dim, layers, { ...o, epochs: 2, fixedSubset })).log.steps > 0);
    // the same for R2: every head's slice peaked after the R2 init (one random Hadamard shared by the KV heads)
    const R20 = randomHadamard(D, seededRandom(o.seed + 100));
    const r2data = Array.from({ length: windows }, () => {
      const x = new Float32Array(tokens * heads * D);
      for (let t = 0; t < tokens; t++) for (let h = 0; h < heads; h++) x.set(peaked(1, D, R20), (t * heads + h) * D);
      return x;
    });
    const res = await trainR2(be, r2data, tokens, heads, kv, D, { ...o, bsz: 2 }, 0);
    assert.equal(res.r2.length, kv);
    assert.ok(res.log.maxOrthError < 1e-5 && res.log.lossLast < res.log.lossFirst, JSON.stringify(res.log));
  });
});
