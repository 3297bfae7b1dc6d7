// Sparse weight storage (bitmask, 2:4, 4:8; float32, int8 and int4) and the sparse GEMV/GEMM kernels: pack/unpack
// round trips against the masked dense weights, the kernels against the float64 twin on fresh random inputs of odd
// sizes with 1, 2 and 3 threads (and the SIMD128 build), and a fuzz test of the validator.
import * as ops from '../src/ops/index.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { sparseLinearRef } from '../src/kernels/sparse/reference.js';
import {
  blockStride, maskStride, nmIndexStride, packBitmask, packBlock8, packBitmaskQ4, packBitmaskQ8, packNM, packNMQ4, packNMQ8, SPARSE_PAD, sparseBytes, unpackSparse, validateSparse, type SparseWeight,
} from '../src/tensor/sparse-format.js';
import { sparseTensorList, uploadSparse } from '../src/models/sparse-storage.js';
import { FormatError } from '../src/util/errors.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();
const backends: CpuBackend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 2 }), await CpuBackend.create({ threads: 3 }),
    await CpuBackend.create({ threads: 2, simd: 'simd128' }));
});
after(async () => { for (const b of backends) await b.dispose(); });

/** 1 = kept. Unstructured at `sparsity`, with row 0 fully pruned and row 1 fully kept when there are 3+ rows. */
function randomKeep(rows: number, cols: number, sparsity: number): Uint8Array {
  const keep = new Uint8Array(rows * cols);
  for (let i = 0; i < keep.length; i++) keep[i] = r() >= sparsity ? 1 : 0;
  if (rows >= 3) {
    keep.fill(0, 0, cols);
    keep.fill(1, cols, 2 * cols);
  }
  return keep;
}

/** N kept of every M columns at random positions; every 5th group keeps one fewer (exercises padding). */
function randomNMKeep(rows: number, cols: number, n: number, m: number): Uint8Array {
  const keep = new Uint8Array(rows * cols);
  for (let g = 0; g < (rows * cols) / m; g++) {
    const want = g % 5 === 4 ? n - 1 : n;
    let k = 0;
    while (k < want) {
      const j = Math.floor(r() * m);
      if (!keep[g * m + j]) { keep[g * m + j] = 1; k++; }
    }
  }
  return keep;
}

function masked(keep: Uint8Array): Float32Array {
  const w = randn(keep.length, r);
  for (let i = 0; i < w.length; i++) {
    if (!keep[i]) w[i] = 0;
    else if (w[i] === 0) w[i] = 1;
  }
  return w;
}

interface Q8 { codes: Uint8Array; scales: Float32Array; zeros: Float32Array; group: number }
/** Random codes on a `bits`-bit grid (8 or 4), one per weight, with scales and zeros per row and group. */
function randomQ8(rows: number, cols: number, group: number, integerZeros: boolean, bits = 8): Q8 {
  const ng = cols / group, levels = 2 ** bits;
  const codes = Uint8Array.from({ length: rows * cols }, () => Math.floor(r() * levels));
  const scales = Float32Array.from({ length: rows * ng }, () => 0.001 + 0.01 * r());
  const zeros = Float32Array.from({ length: rows * ng }, () => (integerZeros ? Math.floor(r() * levels) : (levels - 1) * r()));
  return { codes, scales, zeros, group };
}

/** s (q - z) where kept, else 0: computed here from the dense codes, independently of the packer. */
function dequantMasked(q: Q8, keep: Uint8Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols), ng = cols / q.group;
  for (let i = 0; i < rows * cols; i++) {
    if (!keep[i]) continue;
    const gi = Math.floor(i / cols) * ng + Math.floor((i % cols) / q.group);
    out[i] = q.scales[gi]! * (q.codes[i]! - q.zeros[gi]!);
  }
  return out;
}

interface Case { label: string; w: SparseWeight; dense: Float32Array }

function cases(): Case[] {
  const out: Case[] = [];
  for (const [rows, cols] of [[37, 53], [5, 300], [3, 7], [67, 1001], [9, 129]] as const) {
    for (const s of [0.5, 0.7, 0.9]) {
      const dense = masked(randomKeep(rows, cols, s));
      out.push({ label: `bitmask f32 ${rows}x${cols} at ${s}`, w: packBitmask(dense, rows, cols), dense });
    }
  }
  for (const [rows, cols] of [[37, 56], [67, 1000], [3, 8], [9, 264]] as const) {
    for (const s of [0.5, 0.7, 0.9]) {
      const blocks = randomKeep(rows, cols / 8, s), keep = new Uint8Array(rows * cols);
      for (let i = 0; i < keep.length; i++) keep[i] = blocks[Math.floor(i / 8)]! && r() < 0.9 ? 1 : 0; // some zeros inside kept blocks
      const dense = masked(keep);
      out.push({ label: `1x8 blocks f32 ${rows}x${cols} at ${s}`, w: packBlock8(dense, rows, cols), dense });
    }
  }
  for (const [n, m, rows, cols] of [[2, 4, 37, 52], [2, 4, 3, 4], [2, 4, 45, 1032], [2, 4, 6, 16], [4, 8, 37, 56], [4, 8, 45, 1000], [4, 8, 2, 8]] as const) {
    const dense = masked(randomNMKeep(rows, cols, n, m));
    out.push({ label: `${n}:${m} f32 ${rows}x${cols}`, w: packNM(dense, rows, cols, n, m), dense });
  }
  for (const [rows, cols, group] of [[37, 48, 16], [11, 264, 24], [45, 1024, 128], [3, 768, 256], [5, 8, 8]] as const) {
    for (const s of [0.5, 0.7, 0.9]) {
      const keep = randomKeep(rows, cols, s), q = randomQ8(rows, cols, group, false);
      out.push({ label: `bitmask int8 ${rows}x${cols} g${group} at ${s}`, w: packBitmaskQ8(q.codes, keep, rows, cols, group, q.scales, q.zeros), dense: dequantMasked(q, keep, rows, cols) });
    }
  }
  for (const [n, m, rows, cols, group] of [[2, 4, 37, 48, 16], [2, 4, 45, 1024, 128], [4, 8, 11, 264, 24], [4, 8, 45, 1024, 256]] as const) {
    const keep = randomNMKeep(rows, cols, n, m), q = randomQ8(rows, cols, group, true);
    out.push({ label: `${n}:${m} int8 ${rows}x${cols} g${group}`, w: packNMQ8(q.codes, keep, rows, cols, n, m, group, q.scales, q.zeros), dense: dequantMasked(q, keep, rows, cols) });
  }
  // int4: odd row counts (rows start at high nibbles), groups of 32 and 24, a row block of 4 plus leftovers
  for (const [rows, cols, group] of [[7, 96, 32], [33, 264, 24], [45, 1024, 128], [5, 8, 8]] as const) {
    for (const s of [0.5, 0.7, 0.9]) {
      const keep = randomKeep(rows, cols, s), q = randomQ8(rows, cols, group, false, 4);
      out.push({ label: `bitmask int4 ${rows}x${cols} g${group} at ${s}`, w: packBitmaskQ4(q.codes, keep, rows, cols, group, q.scales, q.zeros), dense: dequantMasked(q, keep, rows, cols) });
    }
  }
  for (const [n, m, rows, cols, group] of [[2, 4, 7, 96, 32], [2, 4, 33, 264, 24], [2, 4, 45, 1024, 128], [4, 8, 7, 96, 32], [4, 8, 33, 264, 24]] as const) {
    const keep = randomNMKeep(rows, cols, n, m), q = randomQ8(rows, cols, group, true, 4);
    out.push({ label: `${n}:${m} int4 ${rows}x${cols} g${group}`, w: packNMQ4(q.codes, keep, rows, cols, n, m, group, q.scales, q.zeros), dense: dequantMasked(q, keep, rows, cols) });
  }
  return out;
}

describe('sparse weight formats', () => {
  test('pack -> unpack gives back the masked dense weights; the validator accepts what the packers write', () => {
    for (const c of cases()) {
      validateSparse(c.w, c.label);
      assert.deepEqual(unpackSparse(c.w), c.dense, `${c.label}: unpacked weights differ ${seedNote()}`);
    }
  });

  test('int4 codes: two per byte, low nibble first, in the int8 layout\'s order (worked by hand)', () => {
    // one row of 8 columns, kept 0, 2, 3, 5, 7 with codes 1, 2, 3, 4, 5 (the pruned columns' codes are not stored)
    const codes = Uint8Array.of(1, 9, 2, 3, 9, 4, 9, 5), keep = Uint8Array.of(1, 0, 1, 1, 0, 1, 0, 1);
    const bm = packBitmaskQ4(codes, keep, 1, 8, 8, Float32Array.of(0.5), Float32Array.of(2));
    assert.deepEqual([...(bm as { codes: Uint8Array }).codes], [0x21, 0x43, 0x05, ...new Array(SPARSE_PAD).fill(0)]);
    assert.deepEqual([...unpackSparse(bm)], [-0.5, 0, 0, 0.5, 0, 1, 0, 1.5]);
    // 2:4, the second group keeping only column 5: its padding entry (the lowest free column, 4) holds the zero point 2,
    // so the stored sequence is 1, 2 | 2, 4
    const nm = packNMQ4(codes, Uint8Array.of(1, 0, 1, 0, 0, 1, 0, 0), 1, 8, 2, 4, 8, Float32Array.of(0.5), Float32Array.of(2));
    assert.deepEqual([...(nm as { codes: Uint8Array }).codes.subarray(0, 2)], [0x21, 0x42]);
    assert.deepEqual([...unpackSparse(nm)], [-0.5, 0, 0, 0, 0, 1, 0, 0]);
    assert.equal(sparseBytes(bm), 4 + 8 + 3 + SPARSE_PAD + 8); // mask word, offsets, 5 codes in 3 bytes + padding, scale and zero
  });

  test('sizes: a 70% bitmask f32 weight stores ~0.3 * 4 + 1/8 bytes per weight; 2:4 f32 stores 2.5', () => {
    const rows = 64, cols = 1000;
    const keep = new Uint8Array(rows * cols).map((_, i) => (i % 10 < 3 ? 1 : 0)); // exactly 30% kept
    const bm = packBitmask(masked(keep), rows, cols);
    // mask rows are whole u32 words: 1000 columns -> 32 words = 128 bytes
    assert.equal(sparseBytes(bm), rows * cols * 0.3 * 4 + rows * 128 + (rows + 1) * 4 + SPARSE_PAD * 4);
    const nm = packNM(masked(randomNMKeep(rows, cols, 2, 4)), rows, cols, 2, 4);
    assert.equal(sparseBytes(nm), rows * cols * 2 + rows * cols / 8 + 4 + SPARSE_PAD * 4);
  });

  test('packers reject weights that do not fit the format', () => {
    const dense = new Float32Array(8).fill(1);
    assert.throws(() => packNM(dense, 1, 8, 2, 4), /3|4 non-zeros, more than 2:4/);
    assert.throws(() => packNM(new Float32Array(6), 1, 6, 2, 4), /multiple of 4/);
    assert.throws(() => packBitmaskQ8(new Uint8Array(12), new Uint8Array(12), 1, 12, 12, new Float32Array(1), new Float32Array(1)), /multiple of 8/);
    const keep = new Uint8Array([1, 0, 0, 0]);
    assert.throws(() => packNMQ8(new Uint8Array(8), Uint8Array.of(...keep, ...keep), 1, 8, 2, 4, 8, new Float32Array([1]), new Float32Array([2.5])), /integer zero point/);
    assert.throws(() => packNMQ4(new Uint8Array(8), Uint8Array.of(...keep, ...keep), 1, 8, 2, 4, 8, new Float32Array([1]), new Float32Array([16])), /integer zero point in \[0, 15\], got 16/);
    assert.throws(() => packBitmaskQ4(Uint8Array.of(1, 2, 16, 3, 4, 5, 6, 7), new Uint8Array(8).fill(1), 1, 8, 8, new Float32Array([1]), new Float32Array([2])), /sparse int4: code 16 at weight 2 is not in 0\.\.15/);
  });

  test('validator fuzz: every corruption is rejected with a FormatError naming the problem', () => {
    const base = cases().filter((_, i) => i % 3 === 0);
    let checked = 0;
    for (let trial = 0; trial < 400; trial++) {
      const c = base[trial % base.length]!;
      const w = structuredClone(c.w) as SparseWeight;
      const what = corrupt(w);
      if (!what) continue;
      checked++;
      assert.throws(() => validateSparse(w, 'layer.7'), (e: unknown) => e instanceof FormatError && /^layer\.7: /.test(e.message) && e.message.length < 200,
        `${c.label}: ${what} was not rejected with a FormatError ${seedNote()}`);
    }
    assert.ok(checked > 300);
  });
});

/** Applies one random corruption; returns its description, or '' when the chosen one does not apply. */
function corrupt(w: SparseWeight): string {
  const pick = Math.floor(r() * 10);
  const vals = w.dtype === 'f32' ? w.values : w.codes;
  const stored = vals.length - SPARSE_PAD;
  switch (pick) {
    case 0: { // a kept bit moved into the padding bits past the last column (bitmask) / an index out of order (N:M)
      if (w.format !== 'nm') {
        const ms = w.format === 'bitmask' ? maskStride(w.cols) : blockStride(w.cols);
        if ((w.format === 'bitmask' ? w.cols : w.cols / 8) % (8 * ms) === 0) return '';
        w.mask[Math.floor(r() * w.rows) * ms + ms - 1]! |= 0x80;
        return 'mask bit past the last column';
      }
      const stride = nmIndexStride(w.cols, w.n, w.m), row = Math.floor(r() * w.rows);
      // first group: make its first index equal to its second (indices must increase)
      const bits = w.m === 4 ? 2 : 3, mask = (1 << bits) - 1;
      const word = w.indices[row * stride]! | (w.indices[row * stride + 1]! << 8);
      const second = (word >> bits) & mask;
      const fixed = (word & ~mask) | second;
      w.indices[row * stride] = fixed & 255;
      w.indices[row * stride + 1] = fixed >> 8;
      return 'repeated in-group index';
    }
    case 1: { // one mask bit flipped (offsets no longer match) / a trailing index byte set
      if (w.format !== 'nm') {
        const bitmask = w.format === 'bitmask', c = Math.floor(r() * (bitmask ? w.cols : w.cols / 8)), row = Math.floor(r() * w.rows);
        w.mask[row * (bitmask ? maskStride(w.cols) : blockStride(w.cols)) + (c >> 3)]! ^= 1 << (c & 7);
        return 'flipped mask bit';
      }
      w.indices[w.indices.length - 1 - Math.floor(r() * 4)] = 1 + Math.floor(r() * 255);
      return 'trailing index byte';
    }
    case 2: { // an offset moved
      if (w.format === 'nm') return '';
      const i = 1 + Math.floor(r() * w.rows);
      w.offsets[i]! += r() < 0.5 ? 1 : -1 - Math.floor(r() * 1000);
      return `offsets[${i}] changed`;
    }
    case 3: // the values array one entry short or long
      if (w.dtype === 'f32') w.values = r() < 0.5 ? w.values.slice(0, -1) : Float32Array.of(...w.values, 0);
      else w.codes = r() < 0.5 ? w.codes.slice(0, -1) : Uint8Array.of(...w.codes, 0);
      return 'values length';
    case 4: // mask / indices truncated
      if (w.format !== 'nm') w.mask = w.mask.slice(0, w.mask.length - 1 - Math.floor(r() * w.mask.length / 2));
      else w.indices = w.indices.slice(0, w.indices.length - 1 - Math.floor(r() * 4));
      return 'layout truncated';
    case 5: // non-zero padding after the values
      vals[stored + Math.floor(r() * SPARSE_PAD)] = 7;
      return 'padding not zero';
    case 6: // offsets array of the wrong length, or a 3:4 pattern
      if (w.format !== 'nm') w.offsets = w.offsets.slice(0, w.rows);
      else (w as { n: number }).n = 3;
      return 'offsets length / N:M';
    case 7: // scales/zeros length or a bad group (int8), a NaN value (f32)
      if (w.dtype === 'f32') {
        if (stored === 0) return '';
        w.values[Math.floor(r() * stored)] = NaN;
        return 'NaN value';
      }
      if (r() < 0.5) w.scales = w.scales.slice(1);
      else w.group = w.group + 4;
      return 'scales length / group';
    case 8: { // int4: the unused high nibble of the last code byte set (an odd count of codes)
      if (w.dtype !== 'q4') return '';
      const n = w.format === 'nm' ? w.rows * (w.cols / w.m) * w.n : w.offsets[w.rows]!;
      if (n % 2 === 0) return '';
      w.codes[(n - 1) >> 1]! |= 0x10 << Math.floor(r() * 4);
      return 'int4 nibble past the last code';
    }
    default: // shape that does not match the arrays
      (w as { rows: number }).rows += 1 + Math.floor(r() * 3);
      return 'rows changed';
  }
}

describe('sparse kernels vs the float64 twin', () => {
  test('GEMV (one input row) and GEMM (3, 5 and 37 rows), with and without bias, 1/2/3 threads and SIMD128', async () => {
    for (const c of cases()) {
      const { rows, cols } = c.w;
      for (const be of backends) {
        const tw = uploadSparse(be, c.w, c.label);
        for (const M of [1, 3, 5, 37]) {
          const withBias = M !== 3;
          const x = randn(M * cols, r), bias = withBias ? randn(rows, r) : null;
          const tx = be.alloc([M, cols]), out = be.alloc([M, rows]);
          be.write(tx, x);
          const tb = bias ? be.alloc([rows]) : null;
          if (tb) be.write(tb, bias!);
          ops.linear(be, tx, tw, tb, out);
          const got = await be.read(out), want = sparseLinearRef(c.w, x, M, bias);
          const what = `${be.description} ${c.label} M=${M} bias=${withBias}`;
          if (c.w.dtype !== 'f32' && M === 1) checkInt16Bound(c.w, c.dense, x, got, want, what);
          else {
            const err = relErr(got, want);
            assert.ok(err < 1e-5, `${what}: rel err ${err} ${seedNote()}`);
          }
          for (const t of [tx, out, tb]) if (t) be.free(t);
        }
        for (const t of sparseTensorList(tw)) be.free(t);
      }
    }
  });
});

describe('int8 sparse GEMV at the extremes of the integer sums', () => {
  test('all codes 255, x at its maximum everywhere, one 2048-column group: no i32 overflow', async () => {
    const rows = 5, cols = 2048, group = 2048;
    const codes = new Uint8Array(rows * cols).fill(255), scales = new Float32Array(rows).fill(0.01), zeros = new Float32Array(rows).fill(3);
    const all = new Uint8Array(rows * cols).fill(1);
    const half = Uint8Array.from({ length: rows * cols }, (_, i) => (i % 4 < 2 ? 1 : 0));
    const x = new Float32Array(cols).fill(1.5);
    for (const w of [packBitmaskQ8(codes, all, rows, cols, group, scales, zeros), packNMQ8(codes, half, rows, cols, 2, 4, group, scales, zeros)]) {
      // hand value: every kept weight is 0.01 * (255 - 3) = 2.52, times 1.5, over the kept columns of the row
      const kept = w.format === 'bitmask' ? cols : cols / 2, want = 2.52 * 1.5 * kept;
      for (const be of backends) {
        const tw = uploadSparse(be, w), tx = be.alloc([1, cols]), out = be.alloc([1, rows]);
        be.write(tx, x);
        ops.linear(be, tx, tw, null, out);
        for (const v of await be.read(out)) assert.ok(Math.abs(v - want) < 1e-5 * want, `${be.description} ${w.format}: ${v} != ${want}`);
        for (const t of [tx, out, ...sparseTensorList(tw)]) be.free(t);
      }
    }
  });
});

/**
 * The int8 GEMV holds x as int16 (steps of sx = max|x| / 32767, as the dense int8 kernel): row r may differ from
 * the float64 twin by sum_kept |w_rc| sx / 2 from that rounding, plus float32 rounding of the per-group integer
 * sums sum q x16 and z sum x16 (relative 2^-24 each, bounded here by 1e-6 of their magnitudes).
 */
function checkInt16Bound(w: SparseWeight & { dtype: 'q8' | 'q4' }, dense: Float32Array, x: Float32Array, got: Float32Array, want: Float64Array, what: string): void {
  const { rows, cols } = w, ng = cols / w.group, maxq = w.dtype === 'q8' ? 255 : 15;
  const sx = Math.max(...x.map(Math.abs)) / 32767;
  for (let row = 0; row < rows; row++) {
    let bound = 0, mag = 0;
    for (let c = 0; c < cols; c++) bound += Math.abs(dense[row * cols + c]!) * sx / 2;
    for (let g = 0; g < ng; g++) {
      const s = w.scales[row * ng + g]!, z = Math.abs(w.zeros[row * ng + g]!);
      for (let c = g * w.group; c < (g + 1) * w.group; c++) mag += s * (maxq + z) * Math.abs(x[c]!);
    }
    const diff = Math.abs(got[row]! - want[row]!);
    assert.ok(diff <= bound * 1.01 + 1e-6 * mag, `${what} row ${row}: |diff| ${diff} > bound ${bound} + ${1e-6 * mag} ${seedNote()}`);
  }
}

describe('sparse GEMM = dense GEMM on the dense-with-zeros matrix, bit for bit', () => {
  test('every storage, 1-43 input rows (blocks of 32 and 8), with and without bias, 1/2/3 threads and SIMD128', async () => {
    // The dense GEMM's scalar edge tile (output columns past the last multiple of 8) rounds unfused, so the
    // bit-for-bit promise covers row counts that are multiples of 8 (every LLaMA linear); odd counts are in the twin test.
    const exact: Case[] = [];
    for (const [rows, cols] of [[40, 53], [16, 1001]] as const) {
      const dense = masked(randomKeep(rows, cols, 0.7));
      exact.push({ label: `bitmask f32 ${rows}x${cols}`, w: packBitmask(dense, rows, cols), dense });
    }
    { const keep = new Uint8Array(24 * 264); for (let i = 0; i < keep.length; i++) keep[i] = (i >> 3) % 3 === 0 && r() < 0.9 ? 1 : 0;
      const dense = masked(keep); exact.push({ label: '1x8 blocks f32 24x264', w: packBlock8(dense, 24, 264), dense }); }
    for (const [n, m] of [[2, 4], [4, 8]] as const) {
      const dense = masked(randomNMKeep(32, 1000, n, m));
      exact.push({ label: `${n}:${m} f32 32x1000`, w: packNM(dense, 32, 1000, n, m), dense });
      const keep = randomNMKeep(40, 264, n, m), q = randomQ8(40, 264, 24, true);
      exact.push({ label: `${n}:${m} int8 40x264`, w: packNMQ8(q.codes, keep, 40, 264, n, m, 24, q.scales, q.zeros), dense: dequantMasked(q, keep, 40, 264) });
    }
    { const keep = randomKeep(48, 768, 0.7), q = randomQ8(48, 768, 128, true); // integer zeros (as RTN writes): s (q - z) rounds once, here as in the kernel
      exact.push({ label: 'bitmask int8 48x768', w: packBitmaskQ8(q.codes, keep, 48, 768, 128, q.scales, q.zeros), dense: dequantMasked(q, keep, 48, 768) }); }
    { const keep = randomKeep(40, 264, 0.7), q = randomQ8(40, 264, 24, true, 4);
      exact.push({ label: 'bitmask int4 40x264', w: packBitmaskQ4(q.codes, keep, 40, 264, 24, q.scales, q.zeros), dense: dequantMasked(q, keep, 40, 264) }); }
    for (const [n, m] of [[2, 4], [4, 8]] as const) {
      const keep = randomNMKeep(32, 96, n, m), q = randomQ8(32, 96, 32, true, 4);
      exact.push({ label: `${n}:${m} int4 32x96`, w: packNMQ4(q.codes, keep, 32, 96, n, m, 32, q.scales, q.zeros), dense: dequantMasked(q, keep, 32, 96) });
    }
    for (const c of exact) {
      const { w, dense } = c, { rows, cols } = w;
      for (const be of backends) {
        const tw = uploadSparse(be, w, c.label), td = be.alloc([rows, cols]);
        be.write(td, dense);
        for (const M of [2, 9, 43]) {
          const x = randn(M * cols, r), bias = M !== 9 ? randn(rows, r) : null;
          const tx = be.alloc([M, cols]), o1 = be.alloc([M, rows]), o2 = be.alloc([M, rows]);
          be.write(tx, x);
          const tb = bias ? be.alloc([rows]) : null;
          if (tb) be.write(tb, bias!);
          ops.linear(be, tx, tw, tb, o1);
          ops.linear(be, tx, td, tb, o2);
          const a = await be.read(o1), b = await be.read(o2);
          let bad = -1;
          for (let i = 0; i < a.length && bad < 0; i++) if (a[i] !== b[i]) bad = i;
          assert.equal(bad, -1, `${be.description} ${c.label} (first ${rows} rows) M=${M}: out[${bad}] sparse ${a[bad]} vs dense ${b[bad]} ${seedNote()}`);
          for (const t of [tx, o1, o2, tb]) if (t) be.free(t);
        }
        be.free(td);
        for (const t of sparseTensorList(tw)) be.free(t);
      }
    }
  });
});
