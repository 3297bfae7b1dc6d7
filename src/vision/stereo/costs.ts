/**
 * Pixelwise matching costs for SGM (Yao & Cheng 2019, "Fully Parallel Architecture for Semi-global Stereo
 * Matching with Refined Rank Method"; census/rank: Zabih & Woodfill 1994; BT: Birchfield & Tomasi 1998).
 *
 * - census: Hamming distance of census bit strings over a w x h window (center-symmetric option: compare the
 *   pixel pairs mirrored about p, half the bits, libSGM's default).
 * - rank-ad: rank transform R(p) = #{q in W(p): I(q) < I(p)}, cost |R_L(p) - R_R(p - d)|, box-aggregated.
 * - rank-sad: the window split into K sub-regions (quadrants or octants around p), one rank per region, cost
 *   the SAD of the rank vectors, box-aggregated. K = 1 is rank/AD; one region per neighbour would be census,
 *   so K moves between the two ("local structure constraints in the rank method").
 * - unified: min(C_rank-ad, T1) + lambda * min(C_rank-sad, T2) on the same rank window.
 * - bt: Birchfield-Tomasi on intensities, box-aggregated (the pixelwise part of OpenCV's SGBM cost).
 * The paper's exact Rank SAD and unified definitions are not public (notes C.3); these are the reconstructions
 * the notes give, with every choice an option.
 */
import { OptionError } from '../../util/errors.js';
import type { StereoKernels } from './kernels.js';

export const COSTS = ['census', 'rank-ad', 'rank-sad', 'unified', 'bt'] as const;
export type CostName = (typeof COSTS)[number];

export interface CostOptions {
  cost: CostName;
  /** census window [w, h], odd sizes, at most 64 bits (default 9 x 7) */
  censusWindow: [number, number];
  /** center-symmetric census */
  censusSymmetric: boolean;
  /** rank transform window [w, h], odd sizes up to 15 (default 7 x 7) */
  rankWindow: [number, number];
  /** Rank SAD sub-regions */
  rankRegions: 'quadrants' | 'octants';
  /** box aggregation radius of the pixelwise cost (0 = none); default per cost in DEFAULT_AGGREGATE */
  aggregate?: number;
  /** unified model: aggregation radius of the Rank SAD term (default: the same as `aggregate`) */
  sadAggregate?: number;
  /** unified model: truncations of the two terms (after aggregation) and the weight of the Rank SAD term */
  t1?: number;
  t2?: number;
  lambda: number;
}

export const DEFAULT_AGGREGATE: Record<CostName, number> = { census: 0, 'rank-ad': 2, 'rank-sad': 2, unified: 2, bt: 1 };

export const DEFAULT_COST_OPTIONS: CostOptions = {
  cost: 'census', censusWindow: [9, 7], censusSymmetric: false, rankWindow: [7, 7], rankRegions: 'quadrants', lambda: 1,
};

/** [ax, ay, bx, by] per census bit. */
export function censusPairs(w: number, h: number, symmetric: boolean): number[] {
  const rx = (w - 1) / 2, ry = (h - 1) / 2;
  const out: number[] = [];
  for (let dy = -ry; dy <= ry; dy++) {
    for (let dx = -rx; dx <= rx; dx++) {
      if (dx === 0 && dy === 0) continue;
      if (symmetric) {
        // one bit per mirrored pair: the half-window before p in raster order
        if (dy > 0 || (dy === 0 && dx > 0)) continue;
        out.push(dx, dy, -dx, -dy);
      } else {
        out.push(dx, dy, 0, 0);
      }
    }
  }
  return out;
}

/** Sub-region of neighbour (dx, dy): quadrants rotate the half-axes so every neighbour has exactly one. */
function region(dx: number, dy: number, regions: 'single' | 'quadrants' | 'octants'): number {
  if (regions === 'single') return 0;
  if (regions === 'quadrants') {
    if (dx > 0 && dy >= 0) return 0;
    if (dx <= 0 && dy > 0) return 1;
    if (dx < 0 && dy <= 0) return 2;
    return 3;
  }
  const a = (Math.atan2(dy, dx) + 2 * Math.PI) % (2 * Math.PI);
  return Math.min(7, Math.floor(a / (Math.PI / 4) + 1e-9));
}

/** [dx, dy, region] per neighbour and the number of regions. */
export function rankOffsets(w: number, h: number, regions: 'single' | 'quadrants' | 'octants'): { offsets: number[]; K: number } {
  const rx = (w - 1) / 2, ry = (h - 1) / 2;
  const offsets: number[] = [];
  for (let dy = -ry; dy <= ry; dy++) {
    for (let dx = -rx; dx <= rx; dx++) if (dx !== 0 || dy !== 0) offsets.push(dx, dy, region(dx, dy, regions));
  }
  return { offsets, K: regions === 'single' ? 1 : regions === 'quadrants' ? 4 : 8 };
}

export function aggregateRadius(o: CostOptions): number {
  return o.aggregate ?? DEFAULT_AGGREGATE[o.cost];
}

/** The largest value the cost volume can hold (decides whether SGM's u16 sums can overflow). */
export function maxCost(o: CostOptions): number {
  const area = (2 * aggregateRadius(o) + 1) ** 2;
  const rankMax = (o.rankWindow[0] * o.rankWindow[1] - 1) * area;
  const sadMax = (o.rankWindow[0] * o.rankWindow[1] - 1) * (2 * (o.sadAggregate ?? aggregateRadius(o)) + 1) ** 2;
  switch (o.cost) {
    case 'census': {
      const bits = o.censusWindow[0] * o.censusWindow[1] - 1;
      return (o.censusSymmetric ? bits / 2 : bits) * area;
    }
    case 'rank-ad':
    case 'rank-sad':
      return rankMax;
    case 'unified':
      return Math.min(rankMax, o.t1 ?? rankMax) + Math.round(o.lambda * Math.min(sadMax, o.t2 ?? sadMax));
    case 'bt':
      return 255 * area;
  }
}

function checkWindow(name: string, [w, h]: [number, number], maxSide: number): void {
  for (const v of [w, h]) {
    if (!Number.isInteger(v) || v < 1 || v % 2 === 0 || v > maxSide) throw new OptionError(name, `expected odd window sides in 1..${maxSide}, got ${w}x${h}`);
  }
}

export function validateCostOptions(o: CostOptions): void {
  if (!COSTS.includes(o.cost)) throw new OptionError('--cost', `expected one of ${COSTS.join(', ')}, got '${o.cost}'`);
  checkWindow('--census-window', o.censusWindow, 15);
  if (o.censusWindow[0] * o.censusWindow[1] - 1 > 64) throw new OptionError('--census-window', `at most 64 bits (e.g. 9x7), got ${o.censusWindow.join('x')}`);
  checkWindow('--rank-window', o.rankWindow, 15);
  for (const [flag, r] of [['--aggregate', aggregateRadius(o)], ['--sad-aggregate', o.sadAggregate ?? 0]] as const) {
    if (!Number.isInteger(r) || r < 0 || r > 7) throw new OptionError(flag, `expected a box radius in 0..7, got ${r}`);
  }
  if (!(o.lambda >= 0 && o.lambda <= 16)) throw new OptionError('--lambda', `expected a weight in [0, 16], got ${o.lambda}`);
  for (const [k, v] of [['--t1', o.t1], ['--t2', o.t2]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 65535)) throw new OptionError(k, `expected an integer in 0..65535, got ${v}`);
  }
}

/** Fill and return the cost volume u16 [H][W][D] for the left image as reference. */
export function computeCost(k: StereoKernels, left: Uint8Array, right: Uint8Array, W: number, H: number, D: number, o: CostOptions): Uint16Array {
  const n = W * H * D;
  const cost = k.u16(n);
  const r = aggregateRadius(o);
  const aggregated = (c: Uint16Array, radius = r): Uint16Array => {
    if (radius === 0) return c;
    const out = k.u16(n);
    k.boxSum(c, out, W, H, D, radius, radius);
    return out;
  };
  const ranks = (regions: 'single' | 'quadrants' | 'octants') => {
    const { offsets, K } = rankOffsets(o.rankWindow[0], o.rankWindow[1], regions);
    const table = k.i32(offsets);
    const rl = k.u8(W * H * K), rr = k.u8(W * H * K);
    k.rankTransform(left, rl, W, H, K, table);
    k.rankTransform(right, rr, W, H, K, table);
    return { rl, rr, K };
  };
  type Ranks = ReturnType<typeof ranks>;
  const sadCost = (rk: Ranks, into: Uint16Array, radius = r): Uint16Array => {
    k.rankSadCost(rk.rl, rk.rr, into, W, H, D, rk.K);
    return aggregated(into, radius);
  };
  /** The regions partition the window, so the plain rank is the sum of the sub-region ranks. */
  const summed = (rk: Ranks): Ranks => {
    const rl = k.u8(W * H), rr = k.u8(W * H);
    for (let p = 0; p < W * H; p++) {
      let a = 0, b = 0;
      for (let j = 0; j < rk.K; j++) { a += rk.rl[p * rk.K + j]!; b += rk.rr[p * rk.K + j]!; }
      rl[p] = a;
      rr[p] = b;
    }
    return { rl, rr, K: 1 };
  };
  switch (o.cost) {
    case 'census': {
      const pairs = k.i32(censusPairs(o.censusWindow[0], o.censusWindow[1], o.censusSymmetric));
      const cl = k.u32(2 * W * H), cr = k.u32(2 * W * H);
      k.censusTransform(left, cl, W, H, pairs);
      k.censusTransform(right, cr, W, H, pairs);
      k.censusCost(cl, cr, cost, W, H, D);
      return aggregated(cost);
    }
    case 'rank-ad':
      return sadCost(ranks('single'), cost);
    case 'rank-sad':
      return sadCost(ranks(o.rankRegions), cost);
    case 'unified': {
      const sub = ranks(o.rankRegions); // one transform per image serves both terms
      const ad = sadCost(summed(sub), cost);
      const sad = sadCost(sub, k.u16(n), o.sadAggregate ?? r);
      const out = k.u16(n);
      k.truncatedSum(ad, sad, out, o.t1 ?? 65535, o.t2 ?? 65535, Math.round(o.lambda * 256));
      return out;
    }
    case 'bt':
      k.btCost(left, right, cost, W, H, D);
      return aggregated(cost);
  }
}
