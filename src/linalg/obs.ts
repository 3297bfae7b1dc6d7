/**
 * Optimal Brain Surgeon machinery shared by SparseGPT (prune/sparsegpt.ts) and GPTQ (quant/gptq.ts): the upper
 * Cholesky factor of the damped inverse Hessian, and the lazy batch update of the remaining columns.
 */
import { cholesky, choleskyInverse, choleskyUpper } from './cholesky.js';

export interface InverseHessianFactor {
  /** upper Cholesky factor of the damped H^-1 (row-major n x n) */
  U: Float64Array;
  /** inputs with H_jj = 0 */
  dead: Uint8Array;
  percdamp: number;
  retries: number;
}

/**
 * Upper Cholesky factor of the damped inverse Hessian; marks dead columns (and overwrites their H_jj with 1).
 * It depends on H alone, so linears that share an input (q/k/v, gate/up) share one factor.
 */
export function inverseHessianFactor(H: Float64Array, n: number, percdamp: number): InverseHessianFactor {
  const dead = new Uint8Array(n);
  for (let j = 0; j < n; j++) if (H[j * n + j] === 0) { dead[j] = 1; H[j * n + j] = 1; }
  let mean = 0;
  for (let j = 0; j < n; j++) mean += H[j * n + j]!;
  mean /= n;
  let damp = percdamp;
  for (let retries = 0; retries < 8; retries++) {
    const Hd = H.slice();
    for (let j = 0; j < n; j++) Hd[j * n + j]! += damp * mean;
    const L = cholesky(Hd, n);
    const U = L ? choleskyUpper(choleskyInverse(L, n), n) : null;
    if (U) return { U, dead, percdamp: damp, retries };
    damp *= 10;
  }
  throw new Error(`Hessian is not positive definite even with damping ${damp / 10} x mean(diag)`);
}

/**
 * The lazy batch update after a block of columns [i1, i2): W[:, i2:] -= Err @ U[i1:i2, i2:] (Err [rows, i2 - i1]).
 * `f32`: the product summed exactly, then the subtraction rounded to float32, as a float32 matmul and update do.
 */
export function propagateBlockError(W: Float64Array, err: Float64Array, U: Float64Array, rows: number, cols: number, i1: number, i2: number, f32 = false): void {
  const count = i2 - i1;
  if (f32) {
    const acc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      acc.fill(0, i2);
      for (let c = 0; c < count; c++) {
        const e = err[r * count + c]!;
        if (e === 0) continue;
        const ur = (i1 + c) * cols;
        for (let k = i2; k < cols; k++) acc[k]! += e * U[ur + k]!;
      }
      for (let k = i2; k < cols; k++) W[r * cols + k] = Math.fround(W[r * cols + k]! - Math.fround(acc[k]!));
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const rr = r * cols;
    for (let c = 0; c < count; c++) {
      const e = err[r * count + c]!;
      if (e === 0) continue;
      const ur = (i1 + c) * cols;
      for (let k = i2; k < cols; k++) W[rr + k]! -= e * U[ur + k]!;
    }
  }
}
