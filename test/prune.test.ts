// Pruning methods: the invariants of §9 of the notes, on fresh random inputs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { magnitudeMask } from '../src/prune/magnitude.js';
import { wandaMask, wandaScores } from '../src/prune/wanda.js';
import { inverseHessianFactor, sparsegpt } from '../src/prune/sparsegpt.js';
import { dsnot } from '../src/prune/dsnot.js';
import { argsortEnds, argsortRow, Mask, NM, perRowMask } from '../src/prune/mask.js';
import { owlSparsities, outlierRatio } from '../src/prune/owl.js';
import { cholesky, choleskyInverse, choleskyUpper } from '../src/linalg/cholesky.js';
import { randn, rng, seedNote } from './helpers.js';
import { correlatedInputs, reconError, statsOf } from './linear-fixtures.js';
import { LinearStats } from '../src/calib/stats.js';

const r = rng();

function rowCounts(mask: Mask, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, i) => mask.subarray(i * cols, (i + 1) * cols).reduce((a, b) => a + b, 0));
}

function nmValid(mask: Mask, rows: number, cols: number, nm: NM, exact = true): boolean {
  for (let i = 0; i < rows; i++) for (let g = 0; g < cols; g += nm.m) {
    let n = 0;
    for (let j = 0; j < nm.m; j++) n += mask[i * cols + g + j]!;
    if (exact ? n !== nm.n : n < nm.n) return false;
  }
  return true;
}

describe('masks and baselines', () => {
  test('argsort is stable and orders like float32', () => {
    assert.deepEqual(Array.from(argsortRow([3, -1, 2, -1, NaN, 0, -0, -2.5], 0, 8)), [7, 1, 3, 5, 6, 2, 0, 4]);
    // the two-ended selection gives exactly the argsort's ends, ties included
    for (const [n, c] of [[200, 50], [101, 7], [30, 20], [64, 1]] as const) {
      const v = Array.from(randn(n + 5, r), (x) => Math.round(x * 4) / 4); // many ties
      const full = argsortRow(v, 5, n), ends = argsortEnds(v, 5, n, c);
      const want = n <= 2 * c ? Array.from(full) : [...full.subarray(0, c), ...full.subarray(n - c)];
      assert.deepEqual(Array.from(ends), want, `n=${n} c=${c} ${seedNote()}`);
    }
  });
  test('Wanda: exactly floor(cols*s) per row; N:M groups exact; the 1/nsamples scale does not change the mask', () => {
    const rows = 13, cols = 48;
    const w = randn(rows * cols, r), s = randn(cols, r).map((v) => v * v);
    for (const sp of [0.5, 0.6, 0.7]) {
      const m = wandaMask(w, s, rows, cols, { sparsity: sp });
      assert.ok(rowCounts(m, rows, cols).every((c) => c === Math.floor(cols * sp)), seedNote());
      assert.deepEqual(wandaMask(w, s.map((v) => v * 7.5), rows, cols, { sparsity: sp }), m);
    }
    for (const nm of [{ n: 2, m: 4 }, { n: 4, m: 8 }]) assert.ok(nmValid(wandaMask(w, s, rows, cols, { nm }), rows, cols, nm));
    const variant = wandaMask(w, s, rows, cols, { sparsity: 0.5 }, true);
    const frac = variant.reduce((a, b) => a + b, 0) / variant.length;
    assert.ok(Math.abs(frac - 0.5) < 0.05, `variant sparsity ${frac}`);
  });
  test('magnitude: whole-matrix threshold includes ties (over-prunes), N:M exact', () => {
    const w = Float32Array.from([0.1, -0.2, 0.2, 0.2, 0.3, -0.4, 0.5, 0.6]);
    const m = magnitudeMask(w, 2, 4, { sparsity: 0.25 }); // threshold = sorted[2] = 0.2: three weights tie at 0.2
    assert.deepEqual(Array.from(m), [1, 1, 1, 1, 0, 0, 0, 0]);
    const w2 = randn(6 * 16, r);
    assert.ok(nmValid(magnitudeMask(w2, 6, 16, { nm: { n: 2, m: 4 } }), 6, 16, { n: 2, m: 4 }));
  });
});

describe('SparseGPT', () => {
  test('beats Wanda on layer reconstruction error; exact zeros; N:M valid', () => {
    // One small draw can go either way (greedy OBS is not optimal: ~1 in 10 draws at 50% with 16-column blocks);
    // the claim is about the expected error, so it is checked on the total over several fresh draws.
    const rows = 24, cols = 40, T = 256, draws = 6;
    for (const target of [{ sparsity: 0.5 }, { sparsity: 0.7 }, { nm: { n: 2, m: 4 } }] as const) {
      let eS = 0, eW = 0;
      for (let d = 0; d < draws; d++) {
        const x = correlatedInputs(T, cols, r), w = randn(rows * cols, r);
        const st = statsOf(x, cols, true);
        const sg = sparsegpt(w, inverseHessianFactor(st.hessian(), cols, 0.01), rows, cols, target, { blocksize: 16 });
        const wm = wandaMask(w, st.scalerRow, rows, cols, target);
        const wandaW = w.map((v, i) => (wm[i] ? 0 : v));
        for (let i = 0; i < w.length; i++) if (sg.mask[i]) assert.equal(sg.weight[i], 0);
        if (target.nm) assert.ok(nmValid(sg.mask, rows, cols, target.nm));
        else assert.ok(Math.abs(sg.mask.reduce((a, b) => a + b, 0) / sg.mask.length - target.sparsity) < 0.02);
        eS += reconError(w, sg.weight, x, rows, cols);
        eW += reconError(w, wandaW, x, rows, cols);
      }
      assert.ok(eS < 0.95 * eW, `${JSON.stringify(target)}: SparseGPT ${eS} vs Wanda ${eW} over ${draws} draws ${seedNote()}`);
    }
  });
  test('Cholesky tools: L L^T = A, inverse, upper factor of the inverse', () => {
    const n = 9, b = randn(n * n, r);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = i === j ? 0.5 : 0; for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!; a[i * n + j] = s; }
    const L = cholesky(a, n)!, inv = choleskyInverse(L, n), U = choleskyUpper(inv, n)!;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let ll = 0, ai = 0, uu = 0;
      for (let k = 0; k < n; k++) { ll += L[i * n + k]! * L[j * n + k]!; ai += a[i * n + k]! * inv[k * n + j]!; uu += U[k * n + i]! * U[k * n + j]!; }
      assert.ok(Math.abs(ll - a[i * n + j]!) < 1e-9 && Math.abs(ai - (i === j ? 1 : 0)) < 1e-8 && Math.abs(uu - inv[i * n + j]!) < 1e-8);
      if (j < i) assert.equal(U[i * n + j], 0);
    }
    assert.equal(cholesky(new Float64Array([1, 2, 2, 1]), 2), null);
  });
});

describe('DSnoT', () => {
  const rows = 20, cols = 64, T = 128, sequences = 4;
  const x = correlatedInputs(T, cols, r).map((v) => v + 0.5); // non-zero means, as real activations have
  const weightSeed = Math.floor(r() * 2 ** 31); // the weights can be drawn again, independently of what dsnot holds
  const w = randn(rows * cols, rng(weightSeed));
  const st = statsOf(x, cols, false, sequences);
  const wanda = wandaScores(w, st.scalerRow, rows, cols);
  const input = { weight: w, rows, cols, initialMetric: wanda, wandaScore: wanda, sumRow: st.sumRow, variance: st.variance };
  // DSnoT's reconstruction error of row i (notes §0.3 and dsnot.ts): e_i = sum over pruned j of W_ij * sumRow_j, where
  // sumRow_j = mean over the calibration sequences of sum_t x_tj; the reported errors are mean_i |e_i|. Computed
  // here from x and the returned mask only.
  const sumRow = Array.from({ length: cols }, (_, j) => { let s = 0; for (let t = 0; t < T; t++) s += x[t * cols + j]!; return s / sequences; });
  const rowErrors = (mask: Mask) => Array.from({ length: rows }, (_, i) => {
    let e = 0;
    for (let j = 0; j < cols; j++) if (mask[i * cols + j]) e += w[i * cols + j]! * sumRow[j]!;
    return Math.abs(e);
  });
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

  test('0 cycles = the initial mask; swaps keep per-row counts; the swap budget is respected', () => {
    const init = perRowMask(wanda, rows, cols, 0.6);
    assert.deepEqual(dsnot(input, { sparsity: 0.6 }, { maxCycles: 0 }).mask, init);
    const res = dsnot(input, { sparsity: 0.6 }, { updateThreshold: 0 });
    assert.ok(res.swaps > 0, 'some swaps happen');
    assert.deepEqual(rowCounts(res.mask, rows, cols), rowCounts(init, rows, cols));
    const budget = dsnot(input, { sparsity: 0.6 }, { updateThreshold: 0, cyclesPerColumn: 2 / cols });
    assert.ok(budget.swaps <= 2 * rows);
  });
  test('reported errors equal the recomputed ones; the error guard strictly reduces every row it changes', () => {
    const init = perRowMask(wanda, rows, cols, 0.6);
    const before = rowErrors(init);
    // reference = the official defaults (50 swaps, threshold 0.1); width-aware = a budget of 25% of the row;
    // error guard = a row stops at the first swap that would not reduce its |e|.
    const variants = { reference: {}, 'width-aware': { cyclesPerColumn: 0.25 }, 'error guard': { errorGuard: true } };
    for (const [name, options] of Object.entries(variants)) {
      const res = dsnot(input, { sparsity: 0.6 }, options);
      const after = rowErrors(res.mask);
      assert.ok(res.swaps > 0, `${name}: no swaps`);
      assert.ok(close(res.errorBefore, mean(before)) && close(res.errorAfter, mean(after)), `${name}: reported ${res.errorBefore} -> ${res.errorAfter}, recomputed ${mean(before)} -> ${mean(after)} ${seedNote()}`);
    }
    // Only the guard guarantees a reduction: each committed swap lowers its row's |e|, so a row that changed ends
    // strictly lower and the others are untouched. Without it one swap can overshoot past zero: on these 64-wide rows
    // the reference's 50 swaps use up all 38 pruned weights and lowered the mean |e| on only 12 of 200 seeds
    // (1..200); the width-aware budget (16 swaps) lowered it on all 200 (worst ratio 0.88): not a guarantee, so
    // neither is asserted.
    const res = dsnot(input, { sparsity: 0.6 }, { errorGuard: true });
    const after = rowErrors(res.mask);
    for (let i = 0; i < rows; i++) {
      const changed = res.mask.subarray(i * cols, (i + 1) * cols).some((m, j) => m !== init[i * cols + j]);
      assert.ok(changed ? after[i]! < before[i]! : after[i] === before[i], `row ${i}: |e| ${before[i]} -> ${after[i]} ${seedNote()}`);
    }
    assert.ok(mean(after) < mean(before), `error guard: mean |e| ${mean(after)} not below ${mean(before)} ${seedNote()}`);
  });
  test('N:M stays valid and keeps 0-cycle identity', () => {
    const nm = { n: 2, m: 4 };
    const res = dsnot(input, { nm }, { updateThreshold: 0 });
    assert.ok(nmValid(res.mask, rows, cols, nm));
    assert.ok(nmValid(dsnot(input, { nm }, { maxCycles: 0 }).mask, rows, cols, nm));
  });
  test('the mask is the only output: the weights keep their original values', () => {
    const res = dsnot(input, { sparsity: 0.5 }, { updateThreshold: 0 });
    assert.ok(res.swaps > 0);
    assert.deepEqual(Object.keys(res).sort(), ['errorAfter', 'errorBefore', 'mask', 'swaps']);
    assert.deepEqual(w, randn(rows * cols, rng(weightSeed)), 'dsnot changed the weights it was given');
  });
});

describe('statistics and OWL', () => {
  test('LinearStats follows the reference running means', () => {
    const cols = 5, T = 7;
    const xs = [randn(T * cols, r), randn(T * cols, r, 2), randn(T * cols, r, 0.5)];
    const st = new LinearStats(cols, true);
    for (const x of xs) {
      const g = new Float32Array(cols * cols);
      for (let t = 0; t < T; t++) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) g[i * cols + j]! += x[t * cols + i]! * x[t * cols + j]!;
      st.addSequence(x, g);
    }
    for (let j = 0; j < cols; j++) {
      const col = (x: Float32Array) => Array.from({ length: T }, (_, t) => x[t * cols + j]!);
      const sq = xs.map((x) => col(x).reduce((a, v) => a + v * v, 0));
      const sum = xs.map((x) => col(x).reduce((a, v) => a + v, 0));
      assert.ok(Math.abs(st.scalerRow[j]! - sq.reduce((a, b) => a + b) / 3) < 1e-9);
      assert.ok(Math.abs(st.sumRow[j]! - sum.reduce((a, b) => a + b) / 3) < 1e-9);
      const vars = xs.map((x, k) => col(x).reduce((a, v) => a + (v - sum[k]! / T) ** 2, 0) / T);
      assert.ok(Math.abs(st.variance[j]! - vars.reduce((a, b) => a + b) / 3) < 1e-9);
    }
    const H = st.hessian();
    let direct = 0;
    for (const x of xs) for (let t = 0; t < T; t++) direct += x[t * cols]! * x[t * cols + 1]!;
    assert.ok(Math.abs(H[1]! - (2 / 3) * direct) < 1e-5);
  });
  test('OWL: mean sparsity preserved, range 2 lambda, more outliers -> denser', () => {
    const s = owlSparsities([1, 3, 2, 10], 0.7, { m: 5, lambda: 0.08 });
    assert.ok(Math.abs(s.reduce((a, b) => a + b) / 4 - 0.7) < 1e-12);
    assert.ok(Math.abs(Math.max(...s) - Math.min(...s) - 0.16) < 1e-12);
    assert.equal(s.indexOf(Math.min(...s)), 3);
    assert.equal(outlierRatio([Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 100])], 5), 10);
  });
});
