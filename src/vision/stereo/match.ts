/**
 * Semi-global matching (Hirschmüller, CVPR 2005 / TPAMI 2008) with the costs of costs.ts:
 * cost volume -> path aggregation over 4, 8 or 16 directions (P1 for +-1 disparity steps, P2 for jumps,
 * optionally P2 / (|dI| + 1) along the path) -> winner-take-all with uniqueness test and parabola subpixel
 * -> left-right check against the right-view map argmin_d S(x + d, d) -> speckle removal -> background hole
 * filling -> 3x3 median. 4 paths are the causal directions (left, up-left, up, up-right) that a single
 * top-to-bottom pass of streaming hardware can aggregate.
 */
import { OptionError } from '../../util/errors.js';
import { CostOptions, DEFAULT_COST_OPTIONS, aggregateRadius, computeCost, maxCost, validateCostOptions } from './costs.js';
import type { StereoKernels, Subpixel } from './kernels.js';
import { fillBackground, leftRightCheck, median3x3, removeSpeckles } from './refine.js';

export interface StereoOptions extends CostOptions {
  /** disparities 0 .. maxDisp-1; a multiple of 8 */
  maxDisp: number;
  paths: 4 | 8 | 16;
  /** penalties; default per cost (DEFAULT_PENALTIES, scaled by the aggregation window area) */
  P1?: number;
  P2?: number;
  adaptiveP2: boolean;
  /** uniqueness margin in percent (0 = off; OpenCV 5-15) */
  uniqueness: number;
  /** subpixel fit of the WTA minimum: parabola, equiangular (V fit, suits census/AD costs) or none */
  subpixel: Subpixel;
  /** left-right check tolerance in pixels; negative = no check */
  lrMaxDiff: number;
  /** speckle removal: regions of at most this many pixels (0 = off) whose disparities vary by at most speckleRange */
  speckleSize: number;
  speckleRange: number;
  /** fill invalid pixels with the background disparity (a dense map, as Middlebury v2 scores) */
  fill: boolean;
  median: boolean;
}

/** Penalties per unit of pixelwise cost, before scaling by the aggregation area. */
export const DEFAULT_PENALTIES: Record<CostOptions['cost'], [number, number]> = {
  census: [6, 48], // the numpy census-SGM anchor of the notes (C.7)
  'rank-ad': [2, 24], // ditto for rank/AD
  'rank-sad': [2, 24],
  unified: [4, 48], // sum of two rank terms
  bt: [8, 32], // OpenCV's recommendation 8 / 32 per window pixel
};

export const DEFAULT_STEREO_OPTIONS: StereoOptions = {
  ...DEFAULT_COST_OPTIONS, maxDisp: 64, paths: 8, adaptiveP2: false, uniqueness: 0, subpixel: 'parabola', lrMaxDiff: 1,
  speckleSize: 0, speckleRange: 2, fill: true, median: true,
};

export const DIRECTIONS: Record<4 | 8 | 16, number[]> = {
  4: [1, 0, 1, 1, 0, 1, -1, 1],
  8: [1, 0, 1, 1, 0, 1, -1, 1, -1, 0, -1, -1, 0, -1, 1, -1],
  16: [1, 0, 1, 1, 0, 1, -1, 1, -1, 0, -1, -1, 0, -1, 1, -1, 2, 1, 1, 2, -1, 2, -2, 1, -2, -1, -1, -2, 1, -2, 2, -1],
};

export function penalties(o: StereoOptions): [number, number] {
  const area = (2 * aggregateRadius(o) + 1) ** 2;
  const [p1, p2] = DEFAULT_PENALTIES[o.cost];
  return [o.P1 ?? p1 * area, o.P2 ?? p2 * area];
}

export function validateStereoOptions(o: StereoOptions, W: number): void {
  validateCostOptions(o);
  if (!Number.isInteger(o.maxDisp) || o.maxDisp < 8 || o.maxDisp % 8 !== 0) throw new OptionError('--max-disp', `expected a multiple of 8 (at least 8), got ${o.maxDisp}`);
  if (o.maxDisp >= W) throw new OptionError('--max-disp', `must be smaller than the image width ${W}, got ${o.maxDisp}`);
  if (![4, 8, 16].includes(o.paths)) throw new OptionError('--paths', `expected 4, 8 or 16, got ${o.paths}`);
  const [P1, P2] = penalties(o);
  if (!(Number.isInteger(P1) && P1 >= 0)) throw new OptionError('--p1', `expected a non-negative integer, got ${P1}`);
  if (!(Number.isInteger(P2) && P2 >= P1)) throw new OptionError('--p2', `expected an integer >= P1 (${P1}), got ${P2}`);
  const bound = (maxCost(o) + P2) * o.paths;
  if (bound > 65535) {
    throw new OptionError('--p2', `the ${o.paths}-path sum of (max cost ${maxCost(o)} + P2 ${P2}) = ${bound} overflows 16-bit sums; use a smaller aggregation window, P2 or fewer paths`);
  }
  if (!(o.uniqueness >= 0 && o.uniqueness < 100)) throw new OptionError('--uniqueness', `expected a percentage in [0, 100), got ${o.uniqueness}`);
  if (!(Number.isInteger(o.speckleSize) && o.speckleSize >= 0)) throw new OptionError('--speckle-size', `expected a non-negative integer, got ${o.speckleSize}`);
}

export interface Timings {
  cost: number;
  aggregate: number;
  wta: number;
  refine: number;
  total: number;
}

export interface StereoResult {
  width: number;
  height: number;
  maxDisp: number;
  /** f32 [H][W]; -1 where invalid (only when fill is off) */
  disparity: Float32Array;
  /** fraction of pixels valid after the checks, before filling */
  validFraction: number;
  timings: Timings;
}

export interface StereoInput {
  width: number;
  height: number;
  left: Uint8Array;
  right: Uint8Array;
}

/** Run the whole pipeline. Buffers come from `k` and are released before returning. */
export function matchStereo(k: StereoKernels, input: StereoInput, options: StereoOptions): StereoResult {
  const { width: W, height: H } = input;
  validateStereoOptions(options, W);
  const D = options.maxDisp;
  const [P1, P2] = penalties(options);
  const t0 = performance.now();
  try {
    const left = k.u8(W * H), right = k.u8(W * H);
    left.set(input.left);
    right.set(input.right);
    const cost = computeCost(k, left, right, W, H, D, options);
    const t1 = performance.now();
    const S = k.sgm(cost, left, W, H, D, { dirs: Int32Array.from(DIRECTIONS[options.paths]), P1, P2, adaptiveP2: options.adaptiveP2 });
    const t2 = performance.now();
    const dl = k.f32(W * H), dr = k.f32(W * H);
    k.wta(S, W, H, D, options.uniqueness, options.subpixel, dl, dr);
    let disp: Float32Array = dl.slice(); // copies out of wasm memory (slice is a memcpy; from() iterates)
    const rightMap = dr.slice();
    const t3 = performance.now();
    if (options.lrMaxDiff >= 0) leftRightCheck(disp, rightMap, W, H, options.lrMaxDiff);
    if (options.speckleSize > 0) removeSpeckles(disp, W, H, options.speckleSize, options.speckleRange);
    let valid = 0;
    for (let i = 0; i < disp.length; i++) if (disp[i]! >= 0) valid++;
    if (options.fill) fillBackground(disp, W, H);
    if (options.median) {
      const src = k.f32(W * H), dst = k.f32(W * H);
      src.set(disp);
      disp = median3x3(src, W, H, dst, (a, b) => k.median3x3Interior(a, b, W, H)).slice();
    }
    const t4 = performance.now();
    return {
      width: W, height: H, maxDisp: D, disparity: disp, validFraction: valid / (W * H),
      timings: { cost: t1 - t0, aggregate: t2 - t1, wta: t3 - t2, refine: t4 - t3, total: t4 - t0 },
    };
  } finally {
    k.reset();
  }
}

/** Disparity as 16-bit fixed point x16 (OpenCV / Middlebury-style PNG), invalid = 0. */
export function toFixed16(disp: Float32Array): Uint16Array {
  const out = new Uint16Array(disp.length);
  for (let i = 0; i < disp.length; i++) out[i] = disp[i]! < 0 ? 0 : Math.min(65535, Math.round(disp[i]! * 16));
  return out;
}

