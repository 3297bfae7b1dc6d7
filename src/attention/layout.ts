/**
 * Token layouts of a video DiT's attention: video tokens on a (T, H, W) latent grid in (t, h, w) raster order,
 * then `text` text tokens. A layout is a permutation of that sequence that makes a sparsity pattern contiguous
 * in 1-D, so it maps onto square blocks:
 * - `frame`: frame-major raster (identity; spatial heads are block-diagonal bands).
 * - `hwt`: time innermost, (t h w) -> (h w t) (RainFusion v1's local/temporal band, SVG's temporal transpose).
 * - `tile`: tiles of tt x th x tw tokens flattened tile-major, tokens (t, h, w) inside a tile: 1x8x8 is
 *   RainFusion2.0 rf_v2's per-frame 8x8 regrouping, 2x8x8 the Wan2.2 3-D window, tile-major is what Compact
 *   Attention and STA use. Ragged rows/columns (H or W not a multiple of the tile) follow their frame group's
 *   tiles in raster order; a short last frame group has fewer frames.
 * `firstFrame: 'end'` takes frame 0 out of the permuted region and puts it, in raster order, just before the text
 * (RainFusion v1, the RainFusion2.0 paper): frame 0 and the text then form one dense band at the end.
 */
import { OptionError } from '../util/errors.js';

export interface VideoGrid {
  T: number;
  H: number;
  W: number;
  /** text tokens after the video tokens (0: none) */
  text: number;
}

export type LayoutKind = 'frame' | 'hwt' | 'tile';

export interface LayoutOptions {
  kind: LayoutKind;
  /** tile extent (t, h, w) for kind 'tile' */
  tile?: readonly [number, number, number];
  firstFrame?: 'keep' | 'end';
}

export interface Layout {
  readonly grid: VideoGrid;
  readonly options: Required<LayoutOptions>;
  /** order[pos] = original token index at permuted position pos */
  readonly order: Int32Array;
  /** inverse[token] = its permuted position */
  readonly inverse: Int32Array;
}

export function gridTokens(g: VideoGrid): number {
  return g.T * g.H * g.W + g.text;
}

/** (t, h, w) of an original token index, or null for a text token. */
export function tokenCoords(g: VideoGrid, token: number): [number, number, number] | null {
  const hw = g.H * g.W;
  if (token >= g.T * hw) return null;
  const t = Math.floor(token / hw), r = token - t * hw;
  return [t, Math.floor(r / g.W), r % g.W];
}

export function checkGrid(g: VideoGrid, where: string): void {
  for (const [k, v] of Object.entries(g)) {
    if (!Number.isInteger(v) || v < (k === 'text' ? 0 : 1)) throw new OptionError('--shape', `${where}: ${k} must be a ${k === 'text' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
}

export function makeLayout(g: VideoGrid, opts: LayoutOptions): Layout {
  checkGrid(g, 'layout');
  const options: Required<LayoutOptions> = { tile: [1, 8, 8], firstFrame: 'keep', ...opts };
  const { T, H, W } = g;
  const hw = H * W;
  const idx = (t: number, h: number, w: number) => t * hw + h * W + w;
  const t0 = options.firstFrame === 'end' ? 1 : 0;
  const order: number[] = [];
  if (options.kind === 'frame') {
    for (let t = t0; t < T; t++) for (let i = 0; i < hw; i++) order.push(t * hw + i);
  } else if (options.kind === 'hwt') {
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let t = t0; t < T; t++) order.push(idx(t, h, w));
  } else {
    const [tt, th, tw] = options.tile;
    if (![tt, th, tw].every((x) => Number.isInteger(x) && x >= 1)) throw new OptionError('--tile', `tile extents must be positive integers, got ${options.tile.join('x')}`);
    const hn = Math.floor(H / th), wn = Math.floor(W / tw);
    for (let f = t0; f < T; f += tt) {
      const fe = Math.min(T, f + tt);
      for (let a = 0; a < hn; a++) {
        for (let b = 0; b < wn; b++) {
          for (let t = f; t < fe; t++) for (let h = a * th; h < (a + 1) * th; h++) for (let w = b * tw; w < (b + 1) * tw; w++) order.push(idx(t, h, w));
        }
      }
      // ragged remainder of this frame group: rows below the tiles and columns right of them
      for (let t = f; t < fe; t++) {
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) if (h >= hn * th || w >= wn * tw) order.push(idx(t, h, w));
      }
    }
  }
  if (t0 === 1) for (let i = 0; i < hw; i++) order.push(i);
  for (let j = 0; j < g.text; j++) order.push(T * hw + j);
  const o = Int32Array.from(order);
  const inverse = new Int32Array(o.length);
  for (let p = 0; p < o.length; p++) inverse[o[p]!] = p;
  return { grid: g, options, order: o, inverse };
}

/** Per permuted position: 1 where the token is in frame 0 or text (the always-dense sinks), else 0. */
export function sinkTokens(layout: Layout): Uint8Array {
  const hw = layout.grid.H * layout.grid.W;
  return Uint8Array.from(layout.order, (tok) => (tok < hw || tok >= layout.grid.T * hw ? 1 : 0));
}

/** Block indices that hold at least one token with flag 1. */
export function flaggedBlocks(flags: Uint8Array, block: number): Set<number> {
  const out = new Set<number>();
  for (let p = 0; p < flags.length; p++) if (flags[p]) out.add(Math.floor(p / block));
  return out;
}

/**
 * out[h, pos] = x[h, orders[h][pos]] for [heads, N, d] data: one layout per head (RainFusion v1 runs spatial heads
 * frame-major and temporal heads time-innermost). `inverse` scatters back: out[h, orders[h][pos]] = x[h, pos].
 */
export function permuteHeads(x: Float32Array, heads: number, d: number, orders: readonly Int32Array[], inverse = false, out = new Float32Array(x.length)): Float32Array {
  const N = x.length / (heads * d);
  for (let h = 0; h < heads; h++) {
    const ord = orders[orders.length === 1 ? 0 : h]!;
    const base = h * N * d;
    for (let p = 0; p < N; p++) {
      const src = base + (inverse ? p : ord[p]!) * d, dst = base + (inverse ? ord[p]! : p) * d;
      out.set(x.subarray(src, src + d), dst);
    }
  }
  return out;
}
