// Layer-level fixtures shared by the pruning and quantization tests: correlated inputs, statistics, reconstruction error.
import { LinearStats } from '../src/calib/stats.js';
import { randn } from './helpers.js';

/** Correlated inputs X [T, cols] = Z A with a random mixing matrix, plus per-column scales. */
export function correlatedInputs(T: number, cols: number, r: () => number): Float32Array {
  const z = randn(T * cols, r), a = randn(cols * cols, r, 1 / Math.sqrt(cols)), scale = randn(cols, r, 2).map((v) => Math.abs(v) + 0.1);
  const x = new Float32Array(T * cols);
  for (let t = 0; t < T; t++) for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += z[t * cols + k]! * a[k * cols + j]!;
    x[t * cols + j] = (s + 0.3 * z[t * cols + j]!) * scale[j]!;
  }
  return x;
}

export function statsOf(x: Float32Array, cols: number, withHessian: boolean, chunks = 4): LinearStats {
  const st = new LinearStats(cols, withHessian);
  const T = x.length / cols / chunks;
  for (let c = 0; c < chunks; c++) {
    const xs = x.subarray(c * T * cols, (c + 1) * T * cols);
    let g: Float32Array | undefined;
    if (withHessian) {
      g = new Float32Array(cols * cols);
      for (let t = 0; t < T; t++) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) g[i * cols + j]! += xs[t * cols + i]! * xs[t * cols + j]!;
    }
    st.addSequence(xs, g);
  }
  return st;
}

/** ||W X^T - W' X^T||_F^2 */
export function reconError(w: Float32Array, w2: Float32Array, x: Float32Array, rows: number, cols: number): number {
  const T = x.length / cols;
  let e = 0;
  for (let i = 0; i < rows; i++) for (let t = 0; t < T; t++) {
    let d = 0;
    for (let j = 0; j < cols; j++) d += (w[i * cols + j]! - w2[i * cols + j]!) * x[t * cols + j]!;
    e += d * d;
  }
  return e;
}

