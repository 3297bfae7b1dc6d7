/**
 * RainFusion2.0: online block-sparse masks from block-mean representatives. "RainFusion2.0: Temporal-Spatial
 * Awareness and Hardware-Efficient Block-wise Sparse Attention", arXiv 2512.24086; reference code Ascend/MindIE-SD
 * `sparse_flash_attn_rf_v2.py` / `_rf_v3.py` (research notes section 2).
 * 1. Spatio-temporal permutation: 8x8 tiles per frame (rf_v2; `tile: [1, 8, 8]`) or 2x8x8 3-D windows (the Wan2.2
 *    variant), so a block holds a compact patch of the video.
 * 2. q^_i = mean of the queries of block i, k^_j = mean of the keys of block j; S^ = softmax_row(q^ k^T / sqrt(d)).
 * 3. Per block row keep the ceil(nb (1 - s)) largest entries (threshold = the k-th largest value, ties kept).
 * 4. Blocks holding frame-0 ("first-frame sink") or text tokens are forced dense, rows and columns. rf_v2 keeps
 *    frame 0 at the front (`firstFrame: 'keep'`); the paper and the Wan2.2 variant move it next to the text at
 *    the end (`'end'`).
 * Masks can be reused across denoising steps (rf_v3's mask cache): the caller keeps the returned mask.
 */
import { gridTokens, makeLayout, sinkTokens, flaggedBlocks, permuteHeads, type Layout, type VideoGrid } from './layout.js';
import { BlockMask } from './mask.js';

export interface RainFusion2Options {
  sparsity: number;
  block: number;
  tile: readonly [number, number, number];
  firstFrame: 'keep' | 'end';
}

export const RAINFUSION2_DEFAULTS: Omit<RainFusion2Options, 'sparsity' | 'block'> = { tile: [1, 8, 8], firstFrame: 'keep' };

/** Mean of every block of rows of x [heads, N, d] (last block may be short): [heads, nb, d]. */
export function blockMeans(x: Float32Array, heads: number, N: number, d: number, block: number): Float64Array {
  const nb = Math.ceil(N / block);
  const out = new Float64Array(heads * nb * d);
  for (let h = 0; h < heads; h++) {
    for (let b = 0; b < nb; b++) {
      const r0 = b * block, r1 = Math.min(N, r0 + block);
      const o = (h * nb + b) * d;
      for (let r = r0; r < r1; r++) {
        const src = (h * N + r) * d;
        for (let c = 0; c < d; c++) out[o + c]! += x[src + c]!;
      }
      for (let c = 0; c < d; c++) out[o + c]! /= r1 - r0;
    }
  }
  return out;
}

/** Top-k per row of the pooled scores (k = ceil(nb (1 - s)), ties kept); q/k already permuted. */
export function pooledTopK(q: Float32Array, k: Float32Array, heads: number, N: number, d: number, block: number, sparsity: number): BlockMask {
  const nb = Math.ceil(N / block);
  const qm = blockMeans(q, heads, N, d, block), km = blockMeans(k, heads, N, d, block);
  const keep = Math.max(1, Math.ceil(nb * (1 - sparsity)));
  const scale = 1 / Math.sqrt(d);
  const bits = new Uint8Array(heads * nb * nb);
  const row = new Float64Array(nb), sorted = new Float64Array(nb);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nb; i++) {
      let m = -Infinity;
      for (let j = 0; j < nb; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += qm[(h * nb + i) * d + c]! * km[(h * nb + j) * d + c]!;
        row[j] = s * scale;
        m = Math.max(m, row[j]!);
      }
      // the reference applies a row softmax before top-k; it does not change the order, so exp(s - m) suffices
      for (let j = 0; j < nb; j++) row[j] = Math.exp(row[j]! - m);
      sorted.set(row);
      sorted.sort();
      const thr = sorted[nb - keep]!;
      for (let j = 0; j < nb; j++) if (row[j]! >= thr) bits[(h * nb + i) * nb + j] = 1;
    }
  }
  return BlockMask.from(heads, N, block, bits);
}

export interface RainFusion2Plan {
  layout: Layout;
  mask: BlockMask;
}

/** The layout alone (for callers that reuse a cached mask but must still permute). */
export function rainfusion2Layout(grid: VideoGrid, o: Pick<RainFusion2Options, 'tile' | 'firstFrame'>): Layout {
  return makeLayout(grid, { kind: 'tile', tile: o.tile, firstFrame: o.firstFrame });
}

/** q/k [heads, N, d] in original order; permutes them internally (pass `permuted` to reuse a permutation). */
export function rainfusion2Plan(q: Float32Array, k: Float32Array, grid: VideoGrid, heads: number, d: number, o: RainFusion2Options,
  permuted?: { q: Float32Array; k: Float32Array; layout: Layout }): RainFusion2Plan {
  const layout = permuted?.layout ?? rainfusion2Layout(grid, o);
  const qp = permuted?.q ?? permuteHeads(q, heads, d, [layout.order]);
  const kp = permuted?.k ?? permuteHeads(k, heads, d, [layout.order]);
  const N = gridTokens(grid);
  const dense = flaggedBlocks(sinkTokens(layout), o.block);
  const mask = pooledTopK(qp, kp, heads, N, d, o.block, o.sparsity).withDense((b) => dense.has(b));
  return { layout, mask };
}
