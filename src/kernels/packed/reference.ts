// Plain TypeScript twin of the packed kernels: the readable definition tests compare the SIMD and WGSL versions with.
import { PackedLinear, unpackWeights } from '../../tensor/packed.js';

/** Twin of gemv_q: y = W x (+ bias) for packed integer weights, accumulated in float64 from the dequantized values. */
export function gemvQRef(p: PackedLinear, x: Float32Array, bias: Float32Array | null): Float64Array {
  const w = unpackWeights(p);
  const y = new Float64Array(p.rows);
  for (let r = 0; r < p.rows; r++) {
    let s = bias ? bias[r]! : 0;
    for (let c = 0; c < p.cols; c++) s += w[r * p.cols + c]! * x[c]!;
    y[r] = s;
  }
  return y;
}
