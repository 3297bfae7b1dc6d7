/**
 * Disparity refinement after winner-take-all (Hirschmüller, TPAMI 2008, section 3.4-3.5; OpenCV
 * filterSpeckles): left-right consistency, speckle removal, background-preferring hole filling and a 3x3
 * median. Maps are f32 [H][W] with -1 marking invalid pixels. O(W * H), plain TypeScript except the median's
 * dense interior, which a SIMD kernel may compute.
 */
import { medianCoveredEnd } from '../../kernels/stereo/reference.js';

export const INVALID = -1;

/** Invalidate p when the right-view disparity at x - round(d) differs by more than maxDiff. Returns the count. */
export function leftRightCheck(left: Float32Array, right: Float32Array, W: number, H: number, maxDiff: number): number {
  let n = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = left[y * W + x]!;
      if (d < 0) continue;
      const xr = x - Math.round(d);
      if (xr < 0 || Math.abs(d - right[y * W + xr]!) > maxDiff) {
        left[y * W + x] = INVALID;
        n++;
      }
    }
  }
  return n;
}

/**
 * Speckle removal: 4-connected regions whose neighbouring disparities differ by at most maxDiff and that
 * hold at most maxSize pixels are invalidated (OpenCV filterSpeckles). Returns the pixels removed.
 */
export function removeSpeckles(disp: Float32Array, W: number, H: number, maxSize: number, maxDiff: number): number {
  const label = new Int32Array(W * H);
  const stack = new Int32Array(W * H);
  const members: number[] = [];
  let removed = 0;
  let next = 0;
  for (let s = 0; s < W * H; s++) {
    if (label[s] !== 0 || disp[s]! < 0) continue;
    next++;
    let top = 0;
    stack[top++] = s;
    label[s] = next;
    members.length = 0;
    while (top > 0) {
      const p = stack[--top]!;
      members.push(p);
      const x = p % W, dp = disp[p]!;
      const visit = (q: number) => {
        if (label[q] === 0 && disp[q]! >= 0 && Math.abs(disp[q]! - dp) <= maxDiff) {
          label[q] = next;
          stack[top++] = q;
        }
      };
      if (x > 0) visit(p - 1);
      if (x < W - 1) visit(p + 1);
      if (p >= W) visit(p - W);
      if (p < W * (H - 1)) visit(p + W);
    }
    if (members.length <= maxSize) {
      for (const p of members) disp[p] = INVALID;
      removed += members.length;
    }
  }
  return removed;
}

/**
 * Fill invalid pixels along each row with the smaller (background) of the nearest valid disparities to the
 * left and right: occlusions belong to the farther surface. Rows with no valid pixel become 0.
 */
export function fillBackground(disp: Float32Array, W: number, H: number): void {
  const leftValid = new Float32Array(W);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    let last = -1;
    for (let x = 0; x < W; x++) {
      if (disp[row + x]! >= 0) last = disp[row + x]!;
      leftValid[x] = last;
    }
    let next = -1;
    for (let x = W - 1; x >= 0; x--) {
      const v = disp[row + x]!;
      if (v >= 0) {
        next = v;
        continue;
      }
      const a = leftValid[x]!;
      disp[row + x] = a >= 0 && next >= 0 ? Math.min(a, next) : a >= 0 ? a : next >= 0 ? next : 0;
    }
  }
}

/**
 * 3x3 median over the valid pixels of each neighbourhood (borders use the in-image part); invalid stays invalid.
 * Writes into `out`. `interior` (the SIMD kernel) may fill pixels x in [1, medianCoveredEnd(W)) of rows 1..H-2 when the map has no
 * invalid pixel; everything else is computed here.
 */
export function median3x3(disp: Float32Array, W: number, H: number, out: Float32Array = new Float32Array(disp.length),
  interior?: (src: Float32Array, dst: Float32Array) => void): Float32Array {
  let dense = interior !== undefined;
  for (let i = 0; dense && i < disp.length; i++) if (disp[i]! < 0) dense = false;
  if (dense) interior!(disp, out);
  const end = medianCoveredEnd(W);
  const v = new Float32Array(9);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (dense && y > 0 && y < H - 1 && x > 0 && x < end) continue;
      if (disp[y * W + x]! < 0) {
        out[y * W + x] = INVALID;
        continue;
      }
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= W) continue;
          const d = disp[yy * W + xx]!;
          if (d >= 0) {
            // insertion sort into v[0..n)
            let i = n++;
            while (i > 0 && v[i - 1]! > d) { v[i] = v[i - 1]!; i--; }
            v[i] = d;
          }
        }
      }
      out[y * W + x] = n % 2 === 1 ? v[(n - 1) / 2]! : (v[n / 2 - 1]! + v[n / 2]!) / 2;
    }
  }
  return out;
}
