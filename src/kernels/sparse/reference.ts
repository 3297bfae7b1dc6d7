/**
 * Plain-TS twin of the sparse kernels (src/kernels/sparse/assembly.ts): y[M, rows] = x[M, cols] W^T (+ bias) for a
 * sparse weight in any storage of src/tensor/sparse-format.ts, walking the stored entries with float64 sums.
 * int8 and int4 weights enter as s (q - z) exactly (the kernel's int16 rounding of x is not modelled here).
 */
import { codeAt, forEachStored, type SparseWeight } from '../../tensor/sparse-format.js';

export function sparseLinearRef(w: SparseWeight, x: Float32Array, M: number, bias: Float32Array | null): Float64Array {
  const { rows, cols } = w;
  const out = new Float64Array(M * rows);
  for (let i = 0; i < M; i++) for (let r = 0; r < rows; r++) out[i * rows + r] = bias ? bias[r]! : 0;
  const ng = w.dtype !== 'f32' ? cols / w.group : 0;
  forEachStored(w, (r, c, k) => {
    let v: number;
    if (w.dtype === 'f32') v = w.values[k]!;
    else {
      const gi = r * ng + Math.floor(c / w.group);
      v = w.scales[gi]! * (codeAt(w.dtype, w.codes, k) - w.zeros[gi]!);
    }
    for (let i = 0; i < M; i++) out[i * rows + r]! += v * x[i * cols + c]!;
  });
  return out;
}
