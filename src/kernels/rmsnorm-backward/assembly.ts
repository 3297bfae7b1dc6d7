// RMSNorm's gradient. y = w x inv with inv = 1 / sqrt(mean(x^2) + eps):
// dx = inv (w dy) - x inv^3 / n sum_j(w_j dy_j x_j); dw += sum over rows of dy x inv.
import { chunkStart, chunkEnd } from '../common/simd';

/** rows split over threads: writes inv[r], and accumulates dx unless dx is 0 */
export function rmsnorm_backward_x(x: usize, w: usize, dy: usize, dx: usize, inv: usize, rows: i32, n: i32, eps: f32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * n) << 2;
    let ss: f32 = 0, dot: f32 = 0;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const xv = load<f32>(x + b + o);
      ss += xv * xv;
      dot += load<f32>(w + o) * load<f32>(dy + b + o) * xv;
    }
    const iv: f32 = 1 / Mathf.sqrt(ss / <f32>n + eps);
    store<f32>(inv + (<usize>r << 2), iv);
    if (dx == 0) continue;
    const c: f32 = iv * iv * iv * dot / <f32>n;
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(dx + b + o, load<f32>(dx + b + o) + iv * load<f32>(w + o) * load<f32>(dy + b + o) - c * load<f32>(x + b + o));
    }
  }
}

/** columns split over threads: dw[i] += sum_r dy[r,i] x[r,i] inv[r] */
export function rmsnorm_backward_w(x: usize, dy: usize, inv: usize, dw: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  for (let i = i0; i < i1; i++) {
    let s: f32 = 0;
    for (let r = 0; r < rows; r++) {
      const o = <usize>(r * n + i) << 2;
      s += load<f32>(dy + o) * load<f32>(x + o) * load<f32>(inv + (<usize>r << 2));
    }
    store<f32>(dw + (<usize>i << 2), load<f32>(dw + (<usize>i << 2)) + s);
  }
}
