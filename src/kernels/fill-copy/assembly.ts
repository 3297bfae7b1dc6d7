// Small tensor utilities of training: fill, scale, multiply in place, column-window copies (concatenation and
// slicing, and their gradients), the sum of squares (gradient norms).
import { chunkStart, chunkEnd } from '../common/simd';

export function fill_f32(x: usize, n: i32, v: f32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const vv = f32x4.splat(v);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(x + (<usize>i << 2), vv);
  for (; i < i1; i++) store<f32>(x + (<usize>i << 2), v);
}

export function scale_inplace(x: usize, n: i32, s: f32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const sv = f32x4.splat(s);
  let i = i0;
  for (; i + 4 <= i1; i += 4) { const o = x + (<usize>i << 2); v128.store(o, f32x4.mul(v128.load(o), sv)); }
  for (; i < i1; i++) { const o = x + (<usize>i << 2); store<f32>(o, load<f32>(o) * s); }
}

/** a[i] *= b[i] */
export function mul_inplace(a: usize, b: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  let i = i0;
  for (; i + 4 <= i1; i += 4) { const o = <usize>i << 2; v128.store(a + o, f32x4.mul(v128.load(a + o), v128.load(b + o))); }
  for (; i < i1; i++) { const o = <usize>i << 2; store<f32>(a + o, load<f32>(a + o) * load<f32>(b + o)); }
}

/** dst[r, dc + j] (+)= src[r, sc + j] for j < cols, rows split over threads. */
export function copy_columns(src: usize, sw: i32, sc: i32, dst: usize, dw: i32, dc: i32, rows: i32, cols: i32, accumulate: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const s = src + (<usize>(r * sw + sc) << 2), d = dst + (<usize>(r * dw + dc) << 2);
    let j = 0;
    if (accumulate != 0) {
      for (; j + 4 <= cols; j += 4) { const o = <usize>j << 2; v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o))); }
      for (; j < cols; j++) { const o = <usize>j << 2; store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o)); }
    } else {
      memory.copy(d, s, <usize>cols << 2);
    }
  }
}

/** partial[tid] = sum of x[i]^2 over this thread's slice (float64 accumulation) */
export function sum_squares_partial(x: usize, n: i32, partial: usize, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  let s: f64 = 0;
  for (let i = i0; i < i1; i++) { const v = <f64>load<f32>(x + (<usize>i << 2)); s += v * v; }
  store<f64>(partial + (<usize>tid << 3), s);
}

/** out[0] (+)= sum of the nt float64 partials */
export function sum_partials(partial: usize, nt: i32, out: usize, accumulate: i32, tid: i32, ntt: i32): void {
  if (tid != 0) return;
  let s: f64 = accumulate != 0 ? <f64>load<f32>(out) : 0;
  for (let i = 0; i < nt; i++) s += load<f64>(partial + (<usize>i << 3));
  store<f32>(out, <f32>s);
}
