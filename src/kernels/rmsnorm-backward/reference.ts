// Plain TypeScript twin (float64) of RMSNorm forward and backward.
type A = ArrayLike<number>;

export { rmsnormF64Ref } from '../rmsnorm/reference.js';

export function rmsnormBackwardRef(x: A, w: A, eps: number, dy: A): { dx: Float64Array; dw: Float64Array } {
  const n = w.length, dx = new Float64Array(x.length), dw = new Float64Array(n);
  for (let r = 0; r < x.length / n; r++) {
    let ss = 0, dot = 0;
    for (let i = 0; i < n; i++) { ss += x[r * n + i]! ** 2; dot += w[i]! * dy[r * n + i]! * x[r * n + i]!; }
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) {
      dx[r * n + i] = inv * w[i]! * dy[r * n + i]! - (x[r * n + i]! * inv ** 3 * dot) / n;
      dw[i] += dy[r * n + i]! * x[r * n + i]! * inv;
    }
  }
  return { dx, dw };
}
