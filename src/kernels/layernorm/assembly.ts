// LayerNorm and its gradient, per row of n: y = (x - mean) rstd w + b with rstd = 1 / sqrt(var + eps) (biased
// variance, two passes); backward with xhat = (x - mean) rstd and g = dy w:
// dx = rstd (g - mean(g) - xhat mean(g xhat)), dw += sum over rows of dy xhat, db += sum of dy.
import { chunkStart, chunkEnd } from '../common/simd';

export function layer_norm(x: usize, w: usize, b: usize, out: usize, mean: usize, rstd: usize, rows: i32, n: i32, eps: f32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const base = x + (<usize>(r * n) << 2), o = out + (<usize>(r * n) << 2);
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(base + (<usize>i << 2));
    const mu = s / <f32>n;
    let ss: f32 = 0;
    for (let i = 0; i < n; i++) { const d = load<f32>(base + (<usize>i << 2)) - mu; ss += d * d; }
    const rs: f32 = 1 / Mathf.sqrt(ss / <f32>n + eps);
    store<f32>(mean + (<usize>r << 2), mu);
    store<f32>(rstd + (<usize>r << 2), rs);
    for (let i = 0; i < n; i++) {
      const off = <usize>i << 2;
      store<f32>(o + off, (load<f32>(base + off) - mu) * rs * load<f32>(w + off) + (b != 0 ? load<f32>(b + off) : 0));
    }
  }
}

/** rows split over threads: dx (+)= unless dx is 0 */
export function layer_norm_backward_x(x: usize, w: usize, mean: usize, rstd: usize, dy: usize, dx: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>(r * n) << 2), dyr = dy + (<usize>(r * n) << 2), dxr = dx + (<usize>(r * n) << 2);
    const mu = load<f32>(mean + (<usize>r << 2)), rs = load<f32>(rstd + (<usize>r << 2));
    let sg: f32 = 0, sgx: f32 = 0;
    for (let i = 0; i < n; i++) {
      const off = <usize>i << 2;
      const g = load<f32>(dyr + off) * load<f32>(w + off);
      sg += g;
      sgx += g * (load<f32>(xr + off) - mu) * rs;
    }
    const mg = sg / <f32>n, mgx = sgx / <f32>n;
    for (let i = 0; i < n; i++) {
      const off = <usize>i << 2;
      const g = load<f32>(dyr + off) * load<f32>(w + off), xh = (load<f32>(xr + off) - mu) * rs;
      store<f32>(dxr + off, load<f32>(dxr + off) + rs * (g - mg - xh * mgx));
    }
  }
}

/** columns split over threads: dw += sum dy xhat, db += sum dy (either may be 0) */
export function layer_norm_backward_w(x: usize, mean: usize, rstd: usize, dy: usize, dw: usize, db: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  for (let i = i0; i < i1; i++) {
    let sw: f32 = 0, sb: f32 = 0;
    for (let r = 0; r < rows; r++) {
      const off = <usize>(r * n + i) << 2, d = load<f32>(dy + off);
      sw += d * (load<f32>(x + off) - load<f32>(mean + (<usize>r << 2))) * load<f32>(rstd + (<usize>r << 2));
      sb += d;
    }
    if (dw != 0) store<f32>(dw + (<usize>i << 2), load<f32>(dw + (<usize>i << 2)) + sw);
    if (db != 0) store<f32>(db + (<usize>i << 2), load<f32>(db + (<usize>i << 2)) + sb);
  }
}
