// Softmax (in place) and log-sum-exp of rows (split across threads).
import { exp4, exp1, hsum, hmax, chunkStart, chunkEnd } from '../common/simd';

function rowMax(xr: usize, n: i32): f32 {
  const n4 = n & ~3;
  let m = f32x4.splat(-Infinity);
  for (let i = 0; i < n4; i += 4) m = f32x4.max(m, v128.load(xr + (<usize>i << 2)));
  let mx = hmax(m);
  for (let i = n4; i < n; i++) mx = max(mx, load<f32>(xr + (<usize>i << 2)));
  return mx;
}

/** In-place softmax of each row. */
export function softmax(x: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  const n4 = n & ~3;
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>(r * n) << 2);
    const mv = f32x4.splat(rowMax(xr, n));
    let s = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      const e = exp4(f32x4.sub(v128.load(xr + o), mv));
      v128.store(xr + o, e);
      s = f32x4.add(s, e);
    }
    let sum = hsum(s);
    const mx = f32x4.extract_lane(mv, 0);
    for (let i = n4; i < n; i++) {
      const o = <usize>i << 2;
      const e = exp1(load<f32>(xr + o) - mx);
      store<f32>(xr + o, e);
      sum += e;
    }
    const inv = f32x4.splat(1.0 / sum);
    for (let i = 0; i < n4; i += 4) { const o = <usize>i << 2; v128.store(xr + o, f32x4.mul(v128.load(xr + o), inv)); }
    for (let i = n4; i < n; i++) { const o = <usize>i << 2; store<f32>(xr + o, load<f32>(xr + o) * f32x4.extract_lane(inv, 0)); }
  }
}

/** out[r] = log(sum_i exp(x[r,i])), computed stably (max shift); cross-entropy = out[r] - x[r, target]. */
export function logsumexp(x: usize, out: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  const n4 = n & ~3;
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>(r * n) << 2);
    const mx = rowMax(xr, n);
    const mv = f32x4.splat(mx);
    let s = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) s = f32x4.add(s, exp4(f32x4.sub(v128.load(xr + (<usize>i << 2)), mv)));
    let sum = hsum(s);
    for (let i = n4; i < n; i++) sum += exp1(load<f32>(xr + (<usize>i << 2)) - mx);
    store<f32>(out + (<usize>r << 2), mx + Mathf.log(sum));
  }
}
