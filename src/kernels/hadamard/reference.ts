import { hadamardBase, requireHadamardSize } from '../../linalg/hadamard.js';

/**
 * Fast transform of each row of x [rows, n] in place: row <- row . H_n (H_n symmetric along the 2^m axis, so a
 * row vector times H equals H^T times it there; the K x K stage multiplies by H_K^T). Scaled by 1/sqrt(n).
 * The plain TypeScript twin of the hadamard kernel, O(n log n + n K) per row.
 */
export function hadamardRowsRef(x: Float32Array, rows: number, n: number): void {
  const { K, pow2 } = requireHadamardSize(n, 'hadamard');
  const hk = hadamardBase(K), s = 1 / Math.sqrt(n), row = new Float64Array(n), tmp = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) row[i] = x[r * n + i]!;
    for (let a = 0; a < K; a++) {
      const o = a * pow2;
      for (let h = 1; h < pow2; h <<= 1) {
        for (let i = 0; i < pow2; i += 2 * h) {
          for (let j = i; j < i + h; j++) {
            const u = row[o + j]!, v = row[o + j + h]!;
            row[o + j] = u + v; row[o + j + h] = u - v;
          }
        }
      }
    }
    // (row . (H_K (x) H))[c, d] = sum_a H_K[a][c] (row_a . H)[d]
    for (let c = 0; c < K; c++) {
      for (let d = 0; d < pow2; d++) {
        let acc = 0;
        for (let a = 0; a < K; a++) acc += hk[a * K + c]! * row[a * pow2 + d]!;
        tmp[c * pow2 + d] = acc;
      }
    }
    for (let i = 0; i < n; i++) x[r * n + i] = tmp[i]! * s;
  }
}
