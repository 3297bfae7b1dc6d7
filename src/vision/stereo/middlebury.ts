/**
 * Middlebury v2 evaluation (Scharstein & Szeliski 2002): bad-pixel rates |d - d_gt| > t over three masks,
 * with the masks recomputed from the left ground truth the way OpenCV's stereo test does
 * (modules/calib3d/test/test_stereomatching.cpp): the right disparity is the left GT forward-warped with
 * the larger disparity winning; a left pixel is occluded when x - round(d) leaves the image or the right
 * disparity there exceeds d + 1; discontinuities are pixels whose 3x3 neighbourhood differs by more than 2,
 * dilated by a 9x9 box, restricted to non-occluded pixels. Invalid estimates (< 0) count as bad.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { FormatError, InputError } from '../../util/errors.js';
import { readJson } from '../../io/files.js';
import { GrayImage, readImage } from '../../io/image.js';

export interface GroundTruth {
  width: number;
  height: number;
  /** disparity in pixels, 0 = unknown */
  disp: Float32Array;
}

export interface Masks {
  all: Uint8Array;
  nonocc: Uint8Array;
  disc: Uint8Array;
}

export const EVAL_DISP_THRESH = 1;
export const EVAL_DISP_GAP = 2;
export const EVAL_DISCONT_WIDTH = 9;

export function readGroundTruth(file: string, scale: number): GroundTruth {
  const img = readImage(file);
  if (img.channels !== 1) throw new FormatError(file, `ground truth: expected a single-channel image, got ${img.channels} channels`);
  const disp = new Float32Array(img.width * img.height);
  for (let i = 0; i < disp.length; i++) disp[i] = img.data[i]! / scale;
  return { width: img.width, height: img.height, disp };
}

export function evaluationMasks(gt: GroundTruth, border = 0): Masks {
  const { width: W, height: H, disp } = gt;
  const n = W * H;
  const known = (i: number) => disp[i]! > 0;
  const right = new Float32Array(n);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!known(i)) continue;
      const xr = x - Math.round(disp[i]!);
      if (xr >= 0) right[y * W + xr] = Math.max(right[y * W + xr]!, disp[i]!);
    }
  }
  const all = new Uint8Array(n), nonocc = new Uint8Array(n), disc = new Uint8Array(n);
  const discont = new Uint8Array(n);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!known(i)) continue;
      if (x < border || y < border || x >= W - border || y >= H - border) continue;
      all[i] = 1;
      const xr = x - Math.round(disp[i]!);
      if (xr >= 0 && !(right[y * W + xr]! > disp[i]! + EVAL_DISP_THRESH)) nonocc[i] = 1;
    }
  }
  // depth discontinuities: max(maxNeighbour - d, d - minNeighbour) > gap over known 3x3 neighbours
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!known(i)) continue;
      let lo = Infinity, hi = -Infinity;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H || !known(yy * W + xx)) continue;
          lo = Math.min(lo, disp[yy * W + xx]!);
          hi = Math.max(hi, disp[yy * W + xx]!);
        }
      }
      if (Math.max(hi - disp[i]!, disp[i]! - lo) > EVAL_DISP_GAP) discont[i] = 1;
    }
  }
  const r = (EVAL_DISCONT_WIDTH - 1) / 2;
  const rowMax = new Uint8Array(n);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let m = 0;
      for (let dx = -r; dx <= r && !m; dx++) { const xx = x + dx; if (xx >= 0 && xx < W) m = discont[y * W + xx]!; }
      rowMax[y * W + x] = m;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let m = 0;
      for (let dy = -r; dy <= r && !m; dy++) { const yy = y + dy; if (yy >= 0 && yy < H) m = rowMax[yy * W + x]!; }
      const i = y * W + x;
      disc[i] = m && nonocc[i] ? 1 : 0;
    }
  }
  return { all, nonocc, disc };
}

export interface BadPixelRates {
  threshold: number;
  /** percentages */
  nonocc: number;
  all: number;
  disc: number;
}

export function badPixelRates(disp: Float32Array, gt: GroundTruth, masks: Masks, threshold: number): BadPixelRates {
  const rate = (mask: Uint8Array) => {
    let bad = 0, count = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      count++;
      const d = disp[i]!;
      if (d < 0 || Math.abs(d - gt.disp[i]!) > threshold) bad++;
    }
    return count ? (100 * bad) / count : 0;
  };
  return { threshold, nonocc: rate(masks.nonocc), all: rate(masks.all), disc: rate(masks.disc) };
}

export interface StereoPair {
  name: string;
  left: string;
  right: string;
  gt: string;
  gtScale: number;
  maxDisp: number;
}

/** The four Middlebury v2 pairs, laid out as in the bundled assets/stereo/middlebury. */
interface KnownPair {
  name: string;
  /** left, right, left ground truth */
  files: [string, string, string];
  gtScale: number;
  maxDisp: number;
}

export const KNOWN_PAIRS: KnownPair[] = [
  { name: 'tsukuba', files: ['im3.png', 'im4.png', 'disp3.pgm'], gtScale: 16, maxDisp: 16 },
  { name: 'venus', files: ['im2.png', 'im6.png', 'disp2.pgm'], gtScale: 8, maxDisp: 32 },
  { name: 'teddy', files: ['im2.png', 'im6.png', 'disp2.png'], gtScale: 4, maxDisp: 64 },
  { name: 'cones', files: ['im2.png', 'im6.png', 'disp2.png'], gtScale: 4, maxDisp: 64 },
];

/**
 * The pairs of a dataset folder: its `dataset.json` ({"pairs": [{name, left, right, gt, gtScale, maxDisp}]},
 * paths relative to the folder or absolute) or else the known Middlebury subfolders that exist.
 */
export function readDataset(dir: string): StereoPair[] {
  const manifest = path.join(dir, 'dataset.json');
  if (existsSync(manifest)) {
    const j = readJson(manifest) as { pairs?: unknown };
    if (!Array.isArray(j.pairs)) throw new FormatError(manifest, 'field pairs: expected an array');
    return j.pairs.map((p: Record<string, unknown>, i: number) => {
      for (const f of ['name', 'left', 'right', 'gt'] as const) {
        if (typeof p[f] !== 'string') throw new FormatError(manifest, `field pairs[${i}].${f}: expected a string`);
      }
      for (const f of ['gtScale', 'maxDisp'] as const) {
        if (typeof p[f] !== 'number' || !(p[f] > 0)) throw new FormatError(manifest, `field pairs[${i}].${f}: expected a positive number`);
      }
      return {
        name: p.name as string, left: path.resolve(dir, p.left as string), right: path.resolve(dir, p.right as string),
        gt: path.resolve(dir, p.gt as string), gtScale: p.gtScale as number, maxDisp: p.maxDisp as number,
      };
    });
  }
  const pairs: StereoPair[] = [];
  for (const k of KNOWN_PAIRS) {
    const [l, r, g] = k.files.map((f) => path.join(dir, k.name, f));
    if (existsSync(l!) && existsSync(r!) && existsSync(g!)) pairs.push({ name: k.name, left: l!, right: r!, gt: g!, gtScale: k.gtScale, maxDisp: k.maxDisp });
  }
  if (pairs.length === 0) {
    throw new InputError(`${dir}: no stereo pairs found (expected dataset.json or Middlebury subfolders ${KNOWN_PAIRS.map((k) => k.name).join(', ')})`);
  }
  return pairs;
}

/**
 * The scale of a ground-truth file, when it is known: from a dataset.json in its folder or the folder above
 * that lists it, or from its place in a Middlebury layout (tsukuba/disp3.pgm, venus/disp2.pgm, ...). Else null.
 */
export function inferGtScale(gtFile: string): number | null {
  const abs = path.resolve(gtFile);
  for (const dir of [path.dirname(abs), path.dirname(path.dirname(abs))]) {
    if (!existsSync(path.join(dir, 'dataset.json'))) continue;
    const pair = readDataset(dir).find((p) => p.gt === abs);
    if (pair) return pair.gtScale;
  }
  const known = KNOWN_PAIRS.find((k) => k.name === path.basename(path.dirname(abs)).toLowerCase() && k.files[2] === path.basename(abs));
  return known ? known.gtScale : null;
}

export function checkPair(leftFile: string, left: GrayImage, rightFile: string, right: GrayImage): void {
  if (left.width !== right.width || left.height !== right.height) {
    throw new InputError(`${rightFile}: size ${right.width}x${right.height} differs from ${leftFile} (${left.width}x${left.height}); expected a rectified pair of equal size`);
  }
}
