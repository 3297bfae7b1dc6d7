// gemv in the Linear layout: y[N] = W[N,K] x[K] (+ bias[N]), for one input row. Products of more rows run on the
// packed-panel GEMM of kernels/gemm (which also serves the backward pass's transposed products).
import { fma4, hsum } from '../common/simd';

/** y[N] = W[N,K] x[K] (+ bias): four rows at a time, dot products along K (the nn.Linear layout). */
export function gemv(w: usize, x: usize, bias: usize, y: usize, N: i32, K: i32, tid: i32, nt: i32): void {
  const per = (((N + 3) >> 2) + nt - 1) / nt * 4;
  const r0 = min(N, tid * per);
  const r1 = min(N, r0 + per);
  const rs = <usize>K << 2;
  const K4 = K & ~3;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const w0 = w + <usize>r * rs;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let k = 0; k < K4; k += 4) {
      const off = <usize>k << 2;
      const xv = v128.load(x + off);
      s0 = fma4(v128.load(w0 + off), xv, s0);
      s1 = fma4(v128.load(w0 + rs + off), xv, s1);
      s2 = fma4(v128.load(w0 + 2 * rs + off), xv, s2);
      s3 = fma4(v128.load(w0 + 3 * rs + off), xv, s3);
    }
    // transpose-add the four accumulators into one vector of row sums
    const t0 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
    const t1 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
    let sum = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
    for (let k = K4; k < K; k++) {
      const xk = load<f32>(x + (<usize>k << 2));
      const off = <usize>k << 2;
      const tail = f32x4(load<f32>(w0 + off) * xk, load<f32>(w0 + rs + off) * xk, load<f32>(w0 + 2 * rs + off) * xk, load<f32>(w0 + 3 * rs + off) * xk);
      sum = f32x4.add(sum, tail);
    }
    if (bias != 0) sum = f32x4.add(sum, v128.load(bias + (<usize>r << 2)));
    v128.store(y + (<usize>r << 2), sum);
  }
  for (; r < r1; r++) {
    const wr = w + <usize>r * rs;
    let s = f32x4.splat(0);
    for (let k = 0; k < K4; k += 4) s = fma4(v128.load(wr + (<usize>k << 2)), v128.load(x + (<usize>k << 2)), s);
    let acc = hsum(s);
    for (let k = K4; k < K; k++) acc += load<f32>(wr + (<usize>k << 2)) * load<f32>(x + (<usize>k << 2));
    if (bias != 0) acc += load<f32>(bias + (<usize>r << 2));
    store<f32>(y + (<usize>r << 2), acc);
  }
}
