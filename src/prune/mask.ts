/**
 * Masks and comparison groups shared by the pruning methods. A mask is a Uint8Array over a row-major
 * [rows, cols] weight, 1 = pruned. N:M means N pruned in every group of M consecutive input columns of a row
 * (the reference's naming: "2:4" prunes 2 of 4).
 */
import { OptionError } from '../util/errors.js';

export type Mask = Uint8Array;

export interface NM { n: number; m: number }

/** Sparsity target: an unstructured fraction, or an N:M pattern. */
export type Target = { sparsity: number; nm?: undefined } | { nm: NM; sparsity?: undefined };

export function checkTarget(t: Target, cols: number): void {
  if (t.nm) {
    const { n, m } = t.nm;
    if (!(Number.isInteger(n) && Number.isInteger(m) && n > 0 && m > 0 && n < m)) throw new OptionError('--nm', `N:M needs integers 0 < N < M, got ${n}:${m}`);
    if (cols % m !== 0) throw new OptionError('--nm', `M = ${m} does not divide the layer width ${cols}`);
  } else if (!(t.sparsity > 0 && t.sparsity < 1)) {
    throw new OptionError('--sparsity', `expected a fraction in (0, 1), got ${t.sparsity}`);
  }
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Sort keys for values[start, start + n): each value's float32 bits mapped to an order-preserving uint32, times n,
 * plus its index, so a plain numeric order on the keys is the stable float32 order (as the reference's torch
 * tensors compare). NaN sorts last, like torch.sort; -0 equals +0.
 */
function sortKeys(values: ArrayLike<number>, start: number, n: number): Float64Array {
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[start + i]!;
    F32[0] = v === 0 ? 0 : v;
    const bits = U32[0]!;
    const mono = Number.isNaN(v) ? 0xffffffff : bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    keys[i] = mono * n + i;
  }
  return keys;
}

/** Stable ascending argsort of values[start, start + n) (indices relative to start), comparing as float32. */
export function argsortRow(values: ArrayLike<number>, start: number, n: number): Int32Array {
  const keys = sortKeys(values, start, n);
  keys.sort();
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = keys[i]! % n;
  return idx;
}

/** Rearranges keys so that keys[k] is the k-th smallest, smaller ones before it, larger after (Hoare quickselect). */
function selectKth(keys: Float64Array, k: number, lo = 0, hi = keys.length - 1): void {
  while (hi > lo) {
    const pivot = keys[(lo + hi) >>> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (keys[i]! < pivot) i++;
      while (keys[j]! > pivot) j--;
      if (i <= j) { const t = keys[i]!; keys[i] = keys[j]!; keys[j] = t; i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * The argsort's two ends only: the c first and the c last positions of argsortRow(values, start, n), as one
 * array [first c ..., last c ...] (the whole argsort when n <= 2c). For consumers that walk in from both ends at
 * most c steps in all (DSnoT's regrow ranking): O(n) selection instead of an O(n log n) sort.
 */
export function argsortEnds(values: ArrayLike<number>, start: number, n: number, c: number): Int32Array {
  if (n <= 2 * c) return argsortRow(values, start, n);
  const keys = sortKeys(values, start, n);
  selectKth(keys, c - 1);
  selectKth(keys, n - c, c, n - 1);
  const lo = keys.subarray(0, c).sort(), hi = keys.subarray(n - c).sort();
  const idx = new Int32Array(2 * c);
  for (let i = 0; i < c; i++) { idx[i] = lo[i]! % n; idx[c + i] = hi[i]! % n; }
  return idx;
}

/**
 * One threshold for a whole matrix, as the reference magnitude (and RIA) code: the score at sorted position
 * floor(numel * s); every score <= it is pruned, so ties may over-prune slightly. NaN sorts last and is kept.
 */
export function thresholdMask(scores: Float32Array, sparsity: number): Mask {
  const thresh = scores.slice().sort()[Math.floor(scores.length * sparsity)]!;
  const mask = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) mask[i] = scores[i]! <= thresh ? 1 : 0;
  return mask;
}

/** Per output row, prune the floor(cols * s) lowest scores (stable: ties go to the lower column). */
export function perRowMask(scores: ArrayLike<number>, rows: number, cols: number, sparsity: number): Mask {
  const mask = new Uint8Array(rows * cols);
  const k = Math.floor(cols * sparsity);
  for (let r = 0; r < rows; r++) {
    const order = argsortRow(scores, r * cols, cols);
    for (let i = 0; i < k; i++) mask[r * cols + order[i]!] = 1;
  }
  return mask;
}

/** In every group of m consecutive columns of every row, prune the n lowest scores (ties: lower column). */
/** a < b in the argsort's order: float32 values, NaN last, ties by position. */
function before(a: number, ia: number, b: number, ib: number): boolean {
  const fa = Math.fround(a), fb = Math.fround(b);
  if (fa < fb) return true;
  if (fa > fb) return false;
  const na = fa !== fa, nb = fb !== fb;
  if (na !== nb) return nb;
  return ia < ib;
}

/**
 * Set mask[maskStart + i] = 1 for the n lowest of values[start, start + m) in argsortRow's order (without
 * allocating: N:M groups are tiny and there are cols / m of them per row).
 */
export function markGroupLowest(values: ArrayLike<number>, start: number, m: number, n: number, mask: Uint8Array, maskStart: number): void {
  for (let t = 0; t < n; t++) {
    let best = -1;
    for (let i = 0; i < m; i++) {
      if (mask[maskStart + i]) continue;
      if (best < 0 || before(values[start + i]!, i, values[start + best]!, best)) best = i;
    }
    mask[maskStart + best] = 1;
  }
}

export function nmMask(scores: ArrayLike<number>, rows: number, cols: number, nm: NM): Mask {
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += nm.m) markGroupLowest(scores, r * cols + g, nm.m, nm.n, mask, r * cols + g);
  }
  return mask;
}

export function maskFor(scores: ArrayLike<number>, rows: number, cols: number, t: Target): Mask {
  return t.nm ? nmMask(scores, rows, cols, t.nm) : perRowMask(scores, rows, cols, t.sparsity!);
}

/** Parses "2:4" into {n: 2, m: 4}. */
export function parseNM(s: string): NM {
  const m = /^(\d+):(\d+)$/.exec(s.trim());
  if (!m) throw new OptionError('--nm', `expected N:M such as 2:4, got "${s}"`);
  const nm = { n: Number(m[1]), m: Number(m[2]) };
  if (!(nm.n > 0 && nm.n < nm.m)) throw new OptionError('--nm', `N:M needs 0 < N < M, got ${s}`);
  return nm;
}
