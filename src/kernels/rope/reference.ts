// Plain TypeScript twin of the rope kernels: the readable definition tests compare the SIMD and WGSL versions with.
import type { RopeParams } from './index.js';

/** In place on x[T, stride]. */
export function ropeRef(x: Float32Array, stride: number, cos: Float32Array, sin: Float32Array, p: RopeParams): void {
  const half = p.headDim / 2;
  for (let t = 0; t < p.T; t++) {
    for (let h = 0; h < p.heads; h++) {
      const base = t * stride + h * p.headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[(p.pos0 + t) * half + i]!;
        const s = sin[(p.pos0 + t) * half + i]!;
        const ia = p.neox ? base + i : base + 2 * i;
        const ib = p.neox ? base + i + half : base + 2 * i + 1;
        const a = x[ia]!, b = x[ib]!;
        x[ia] = a * c - b * s;
        x[ib] = b * c + a * s;
      }
    }
  }
}
