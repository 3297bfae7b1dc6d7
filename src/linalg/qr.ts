/**
 * Householder QR of a square matrix (float64, row-major) and the reverse-mode derivative of Q, for DartQuant's
 * QR-Orth parametrisation R = Q(Z). Derivation (A = QR, Q orthogonal, R upper triangular): with X = Q^T dA R^-1,
 * Q^T dQ = tril(X, -1) - tril(X, -1)^T, so for a loss with gradient G_Q = dL/dQ,
 *   dL/dA = Q tril(B - B^T, -1) R^-T,  B = Q^T G_Q.
 * The column signs of Q follow the Householder convention (R's diagonal may be negative); the map is smooth
 * wherever no diagonal element of R crosses zero.
 */

export interface QR {
  n: number;
  Q: Float64Array;
  R: Float64Array;
}

export function qr(A: Float64Array, n: number): QR {
  const R = Float64Array.from(A), Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  const v = new Float64Array(n);
  for (let k = 0; k < n - 1; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += R[i * n + k]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = R[k * n + k]! > 0 ? -norm : norm;
    let vnorm = 0;
    for (let i = k; i < n; i++) { v[i] = R[i * n + k]! - (i === k ? alpha : 0); vnorm += v[i]! ** 2; }
    if (vnorm === 0) continue;
    const s = 2 / vnorm;
    // R <- (I - s v v^T) R on rows k.., columns k..
    for (let j = k; j < n; j++) {
      let d = 0;
      for (let i = k; i < n; i++) d += v[i]! * R[i * n + j]!;
      d *= s;
      for (let i = k; i < n; i++) R[i * n + j] -= d * v[i]!;
    }
    // Q <- Q (I - s v v^T) on columns k..
    for (let r = 0; r < n; r++) {
      let d = 0;
      for (let i = k; i < n; i++) d += Q[r * n + i]! * v[i]!;
      d *= s;
      for (let i = k; i < n; i++) Q[r * n + i] -= d * v[i]!;
    }
  }
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) R[i * n + j] = 0;
  return { n, Q, R };
}

/** dL/dA from dL/dQ for A = QR (see the header). */
export function qrBackward({ n, Q, R }: QR, gQ: Float64Array): Float64Array {
  // B = Q^T gQ; C = tril(B - B^T, -1)
  const B = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      const q = Q[k * n + i]!;
      if (q === 0) continue;
      for (let j = 0; j < n; j++) B[i * n + j] += q * gQ[k * n + j]!;
    }
  }
  const C = new Float64Array(n * n);
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) C[i * n + j] = B[i * n + j]! - B[j * n + i]!;
  // M = Q C
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const q = Q[i * n + k]!;
      if (q === 0) continue;
      for (let j = 0; j < k; j++) M[i * n + j] += q * C[k * n + j]!;
    }
  }
  // G = M R^-T, i.e. G R^T = M with (G R^T)[i][j] = sum_{k >= j} G[i][k] R[j][k]: back substitution per row
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = n - 1; j >= 0; j--) {
      let s = M[i * n + j]!;
      for (let k = j + 1; k < n; k++) s -= G[i * n + k]! * R[j * n + k]!;
      G[i * n + j] = s / R[j * n + j]!;
    }
  }
  return G;
}
