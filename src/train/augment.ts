/**
 * Training-time data augmentation: random translation. Each image of a batch moves by whole pixels (dy, dx), each
 * drawn uniformly from [-maxShift, maxShift], and the uncovered border is filled with zeros (torchvision's
 * RandomAffine(translate=...) with fill 0, on the pixel grid). The draws come from an Rng the caller seeds per step,
 * so a resumed run shifts its images exactly as an uninterrupted one does.
 */
import { Rng } from './rng.js';

/** `x` holds `x.length / (C H W)` images of `shape` [C, H, W]; returns the shifted copies. */
export function randomShift(x: Float32Array, shape: readonly [number, number, number], maxShift: number, rng: Rng): Float32Array {
  const [C, H, W] = shape, size = C * H * W, out = new Float32Array(x.length);
  for (let i = 0; i * size < x.length; i++) {
    const dy = rng.int(2 * maxShift + 1) - maxShift, dx = rng.int(2 * maxShift + 1) - maxShift;
    const x0 = Math.max(0, dx), x1 = Math.min(W, W + dx); // output columns whose source column x - dx is inside
    for (let c = 0; c < C; c++) {
      for (let y = Math.max(0, dy); y < Math.min(H, H + dy); y++) {
        const dst = i * size + (c * H + y) * W, src = i * size + (c * H + y - dy) * W - dx;
        out.set(x.subarray(src + x0, src + x1), dst + x0);
      }
    }
  }
  return out;
}

/** the augmentation Rng of training step `step` (0-based) of a run seeded `seed` */
export const augmentRng = (seed: number, step: number): Rng => new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0);
