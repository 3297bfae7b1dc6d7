/**
 * Dense float64 Cholesky tools for SparseGPT/GPTQ (row-major n x n arrays). The OBS methods use the upper
 * Cholesky factor U of H^-1 (H^-1 = U^T U), computed as the reference does: L = chol(H), H^-1 from L, then
 * U = chol(H^-1)^T.
 */

/** Lower L with A = L L^T, or null when A is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return null;
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j]!;
      }
    }
  }
  return L;
}

/** A^-1 from the Cholesky factor L of A (torch.cholesky_inverse): X = L^-1 by forward substitution, A^-1 = X^T X. */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    X[ri + i] = 1;
    for (let k = 0; k < i; k++) {
      const f = L[ri + k]!;
      if (f === 0) continue;
      const rk = k * n;
      for (let c = 0; c <= k; c++) X[ri + c]! -= f * X[rk + c]!;
    }
    const d = L[ri + i]!;
    for (let c = 0; c <= i; c++) X[ri + c]! /= d;
  }
  const inv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let a = 0; a <= k; a++) {
      const xa = X[rk + a]!;
      if (xa === 0) continue;
      const ra = a * n;
      for (let b = 0; b <= a; b++) inv[ra + b]! += xa * X[rk + b]!;
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) inv[b * n + a] = inv[a * n + b]!;
  return inv;
}

/** Upper U with A = U^T U (torch.linalg.cholesky(A, upper=True)), or null when A is not positive definite. */
export function choleskyUpper(a: Float64Array, n: number): Float64Array | null {
  const L = cholesky(a, n);
  if (!L) return null;
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = L[i * n + j]!;
  return U;
}
