/**
 * Compact Attention: structured spatio-temporal block masks found offline per head, then static at inference.
 * "Compact Attention: Exploiting Structured Spatio-Temporal Sparsity for Fast Video Generation", arXiv 2508.12969.
 * No code was released; this follows the project page's pipeline and shrink-search figures (research notes
 * section 3), with the details it leaves open stated here:
 * - tokens in 3-D tiles flattened tile-major (layout 'tile'); one tile = one attention block, so a window in tile
 *   units is a set of whole blocks; frame 0 and the text stay a dense sink at the end (`firstFrame: 'end'`);
 * - mask family per head: for each frame-distance bucket (tile-time distance 0, 1, 2-3, 4-7, ...: "temporally
 *   varying windows") half-extents (eh, ew) in tiles; shape `rect` (|dh| <= eh and |dw| <= ew: local blob,
 *   global when it spans the frame) or `cross` (|dh| <= eh or |dw| <= ew: a full-width row band plus a
 *   full-height column band); an extent of -1 drops that bucket;
 * - shrink search: start from the full mask; each round proposes every still-flagged one-tile shrink (one bucket,
 *   one direction), scores each by attention-mass recall on the calibration block masses, takes the cheapest
 *   proposal with recall >= tau and clears the flag of every proposal below tau; stops when no flag is left or
 *   the cost gain falls below lambda. Both shapes are searched; the cheaper result is kept.
 * At inference the key-block lists come from index arithmetic on the configuration (no mask tensor, no online
 * prediction).
 */
import { FormatError, OptionError } from '../util/errors.js';
import { readJson, writeFileAtomic } from '../io/files.js';
import { gridTokens, makeLayout, type Layout, type VideoGrid } from './layout.js';
import { BlockMask } from './mask.js';

export type CompactShape = 'rect' | 'cross';

export interface CompactHead {
  shape: CompactShape;
  /** [eh, ew] per frame-distance bucket, in tiles */
  extents: [number, number][];
}

export interface CompactConfig {
  format: 'lithe-compact-attention-v1';
  grid: VideoGrid;
  block: number;
  tile: [number, number, number];
  /** recall threshold the search used */
  recall: number;
  heads: CompactHead[];
  /** per head: calibration recall and density of the chosen mask */
  calibration?: { recall: number; density: number }[];
}

/** Tile geometry of a grid: tiles per axis of the sparse region (frames 1..T-1) and the bucket of a tile-time distance. */
export interface TileGrid {
  grid: VideoGrid;
  block: number;
  tile: [number, number, number];
  tt: number;
  hn: number;
  wn: number;
  /** blocks of the sparse region (= tiles) */
  tiles: number;
  nb: number;
  buckets: number;
  layout: Layout;
}

export function bucketOf(dt: number): number {
  return dt === 0 ? 0 : Math.floor(Math.log2(dt)) + 1;
}

export function defaultTile(block: number): [number, number, number] {
  if (block === 64) return [1, 8, 8];
  if (block === 128) return [2, 8, 8];
  throw new OptionError('--tile', `no default tile for block ${block}; give --tile t,h,w with t*h*w = block`);
}

export function tileGrid(grid: VideoGrid, block: number, tile: [number, number, number] = defaultTile(block)): TileGrid {
  const [t, h, w] = tile;
  if (t * h * w !== block) throw new OptionError('--tile', `tile ${tile.join('x')} holds ${t * h * w} tokens, not one block of ${block}`);
  if ((grid.T - 1) % t || grid.H % h || grid.W % w) {
    throw new OptionError('--shape', `compact attention: grid ${grid.T}x${grid.H}x${grid.W} (frames 1..${grid.T - 1} tiled) is not a multiple of tile ${tile.join('x')}`);
  }
  const tt = (grid.T - 1) / t, hn = grid.H / h, wn = grid.W / w;
  return {
    grid, block, tile, tt, hn, wn, tiles: tt * hn * wn, nb: Math.ceil(gridTokens(grid) / block), buckets: bucketOf(Math.max(0, tt - 1)) + 1,
    layout: makeLayout(grid, { kind: 'tile', tile, firstFrame: 'end' }),
  };
}

/** Key tiles of query tile qi under one head's configuration (sparse region only), as block indices. */
export function* compactRow(g: TileGrid, head: CompactHead, qi: number): Generator<number> {
  const ft = Math.floor(qi / (g.hn * g.wn)), fh = Math.floor(qi / g.wn) % g.hn, fw = qi % g.wn;
  for (let kt = 0; kt < g.tt; kt++) {
    const [eh, ew] = head.extents[bucketOf(Math.abs(kt - ft))]!;
    const base = kt * g.hn * g.wn;
    if (head.shape === 'rect') {
      if (eh < 0 || ew < 0) continue;
      for (let kh = Math.max(0, fh - eh); kh <= Math.min(g.hn - 1, fh + eh); kh++) {
        for (let kw = Math.max(0, fw - ew); kw <= Math.min(g.wn - 1, fw + ew); kw++) yield base + kh * g.wn + kw;
      }
    } else {
      for (let kh = 0; kh < g.hn; kh++) {
        const rowIn = eh >= 0 && Math.abs(kh - fh) <= eh;
        for (let kw = 0; kw < g.wn; kw++) if (rowIn || (ew >= 0 && Math.abs(kw - fw) <= ew)) yield base + kh * g.wn + kw;
      }
    }
  }
}

/** The block mask of a configuration: sparse-region lists from the configuration, sink blocks dense. */
export function compactMask(g: TileGrid, heads: readonly CompactHead[]): BlockMask {
  const N = gridTokens(g.grid);
  return BlockMask.fromLists(heads.length, N, g.block, function* (h, qb) {
    if (qb >= g.tiles) { for (let kb = 0; kb < g.nb; kb++) yield kb; return; }
    yield* compactRow(g, heads[h]!, qb);
    for (let kb = g.tiles; kb < g.nb; kb++) yield kb;
  });
}

/** Recall and density of one head's configuration on a block mass matrix [nb, nb] whose entries sum to `total`. */
function evaluate(g: TileGrid, head: CompactHead, mass: Float64Array, total: number): { recall: number; density: number } {
  const N = gridTokens(g.grid);
  const size = (b: number) => Math.min(g.block, N - b * g.block);
  let kept = 0, pairs = 0;
  for (let qb = 0; qb < g.nb; qb++) {
    if (qb >= g.tiles) {
      for (let kb = 0; kb < g.nb; kb++) kept += mass[qb * g.nb + kb]!;
      pairs += size(qb) * N;
      continue;
    }
    let keys = 0;
    for (let kb = g.tiles; kb < g.nb; kb++) { kept += mass[qb * g.nb + kb]!; keys += size(kb); }
    for (const kb of compactRow(g, head, qb)) { kept += mass[qb * g.nb + kb]!; keys += g.block; }
    pairs += keys * g.block;
  }
  return { recall: kept / total, density: pairs / (N * N) };
}

export interface CompactSearchOptions {
  /** recall threshold tau */
  recall: number;
  /** stop when a round lowers the density by less than this */
  lambda: number;
}

export const COMPACT_DEFAULTS: CompactSearchOptions = { recall: 0.95, lambda: 0 };

function shrinkSearch(g: TileGrid, shape: CompactShape, mass: Float64Array, o: CompactSearchOptions): { head: CompactHead; recall: number; density: number } {
  const head: CompactHead = { shape, extents: Array.from({ length: g.buckets }, () => [g.hn - 1, g.wn - 1] as [number, number]) };
  const total = mass.reduce((a, b) => a + b, 0);
  let cur = evaluate(g, head, mass, total);
  const flags = new Set<number>(Array.from({ length: 2 * g.buckets }, (_, i) => i));
  for (;;) {
    let best: { flag: number; recall: number; density: number } | null = null;
    for (const f of [...flags]) {
      const b = f >> 1, dim = f & 1;
      if (head.extents[b]![dim]! < 0) { flags.delete(f); continue; }
      head.extents[b]![dim]!--;
      const r = evaluate(g, head, mass, total);
      head.extents[b]![dim]!++;
      if (r.recall < o.recall) { flags.delete(f); continue; }
      if (!best || r.density < best.density) best = { flag: f, ...r };
    }
    if (!best || cur.density - best.density < o.lambda) break;
    head.extents[best.flag >> 1]![best.flag & 1]!--;
    cur = { recall: best.recall, density: best.density };
  }
  return { head, ...cur };
}

/** Per-head shrink search on calibration block masses [heads, nb, nb] (averaged over calibration inputs). */
export function compactSearch(g: TileGrid, mass: Float64Array, heads: number, o: CompactSearchOptions = COMPACT_DEFAULTS): CompactConfig {
  const per = g.nb * g.nb;
  const found = Array.from({ length: heads }, (_, h) => {
    const m = mass.subarray(h * per, (h + 1) * per);
    const rect = shrinkSearch(g, 'rect', m, o), cross = shrinkSearch(g, 'cross', m, o);
    return cross.density < rect.density ? cross : rect;
  });
  return {
    format: 'lithe-compact-attention-v1', grid: g.grid, block: g.block, tile: g.tile, recall: o.recall,
    heads: found.map((f) => f.head), calibration: found.map((f) => ({ recall: f.recall, density: f.density })),
  };
}

/** The recall threshold (bisection) whose search gives a mean density closest to 1 - sparsity. */
export function compactSearchForSparsity(g: TileGrid, mass: Float64Array, heads: number, sparsity: number, lambda = 0): CompactConfig {
  const target = 1 - sparsity;
  const meanDensity = (c: CompactConfig) => c.calibration!.reduce((a, x) => a + x.density, 0) / heads;
  let lo = 0.3, hi = 0.9999;
  let best = compactSearch(g, mass, heads, { recall: hi, lambda });
  for (let it = 0; it < 14; it++) {
    const mid = (lo + hi) / 2;
    const c = compactSearch(g, mass, heads, { recall: mid, lambda });
    if (Math.abs(meanDensity(c) - target) < Math.abs(meanDensity(best) - target)) best = c;
    if (meanDensity(c) > target) hi = mid; else lo = mid;
  }
  return best;
}

export function serializeCompactConfig(c: CompactConfig): string {
  return JSON.stringify(c, null, 1) + '\n';
}

export function writeCompactConfig(file: string, c: CompactConfig): void {
  writeFileAtomic(file, serializeCompactConfig(c));
}

export function readCompactConfig(file: string): CompactConfig {
  const c = readJson(file) as CompactConfig;
  if (c.format !== 'lithe-compact-attention-v1') throw new FormatError(file, `field "format": expected "lithe-compact-attention-v1", got ${JSON.stringify(c.format)}`);
  for (const k of ['T', 'H', 'W', 'text'] as const) if (!Number.isInteger(c.grid?.[k])) throw new FormatError(file, `field "grid.${k}": expected an integer`);
  if (!Number.isInteger(c.block)) throw new FormatError(file, 'field "block": expected an integer');
  if (!Array.isArray(c.tile) || c.tile.length !== 3) throw new FormatError(file, 'field "tile": expected [t, h, w]');
  if (!Array.isArray(c.heads) || c.heads.length === 0) throw new FormatError(file, 'field "heads": expected a non-empty array');
  c.heads.forEach((h, i) => {
    if (h.shape !== 'rect' && h.shape !== 'cross') throw new FormatError(file, `field "heads[${i}].shape": expected "rect" or "cross"`);
    if (!Array.isArray(h.extents) || !h.extents.every((e) => Array.isArray(e) && e.length === 2 && e.every(Number.isInteger))) {
      throw new FormatError(file, `field "heads[${i}].extents": expected [[eh, ew], ...] integers`);
    }
  });
  return c;
}

/** The tile grid of a configuration, checked against the grid it is applied to. */
export function configTileGrid(c: CompactConfig, grid: VideoGrid, file: string): TileGrid {
  if (c.grid.T !== grid.T || c.grid.H !== grid.H || c.grid.W !== grid.W || c.grid.text !== grid.text) {
    throw new FormatError(file, `field "grid": the configuration is for ${c.grid.T}x${c.grid.H}x${c.grid.W}+${c.grid.text} text, not ${grid.T}x${grid.H}x${grid.W}+${grid.text}`);
  }
  const g = tileGrid(grid, c.block, c.tile);
  c.heads.forEach((h, i) => { if (h.extents.length !== g.buckets) throw new FormatError(file, `field "heads[${i}].extents": expected ${g.buckets} buckets, got ${h.extents.length}`); });
  return g;
}
