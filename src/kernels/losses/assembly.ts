// Losses of training, numerically stable (max-shifted log-sum-exp), and their gradients: softmax cross-entropy
// (fused log-softmax + NLL), mean squared error, KL divergence of temperature-softened distributions (distillation).
import { exp1, chunkStart, chunkEnd } from '../common/simd';

/** per row: probs = softmax(x), rowLoss = logsumexp(x) - x[label] */
export function cross_entropy_rows(x: usize, labels: usize, probs: usize, rowLoss: usize, rows: i32, C: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * C) << 2;
    let m: f32 = -Infinity;
    for (let i = 0; i < C; i++) m = max(m, load<f32>(x + b + (<usize>i << 2)));
    let s: f32 = 0;
    for (let i = 0; i < C; i++) {
      const e = exp1(load<f32>(x + b + (<usize>i << 2)) - m);
      store<f32>(probs + b + (<usize>i << 2), e);
      s += e;
    }
    const inv: f32 = 1 / s;
    for (let i = 0; i < C; i++) store<f32>(probs + b + (<usize>i << 2), load<f32>(probs + b + (<usize>i << 2)) * inv);
    const label = load<i32>(labels + (<usize>r << 2));
    store<f32>(rowLoss + (<usize>r << 2), m + Mathf.log(s) - load<f32>(x + b + (<usize>label << 2)));
  }
}

/** out[0] = scale * sum(src[0..n)) (float64 accumulation; the calling thread) */
export function sum_scaled(src: usize, n: i32, scale: f64, out: usize, tid: i32, nt: i32): void {
  if (tid != 0) return;
  let s: f64 = 0;
  for (let i = 0; i < n; i++) s += <f64>load<f32>(src + (<usize>i << 2));
  store<f32>(out, <f32>(s * scale));
}

/** dx += dy[0] scale (probs - onehot(label)) */
export function cross_entropy_backward(probs: usize, labels: usize, dy: usize, scale: f32, dx: usize, rows: i32, C: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  const g = load<f32>(dy) * scale;
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * C) << 2;
    const label = load<i32>(labels + (<usize>r << 2));
    for (let i = 0; i < C; i++) {
      const o = b + (<usize>i << 2);
      store<f32>(dx + o, load<f32>(dx + o) + g * (load<f32>(probs + o) - (i == label ? <f32>1 : <f32>0)));
    }
  }
}

/** partial[tid] = sum (a - b)^2 over this thread's slice (float64) */
export function sq_diff_partial(a: usize, b: usize, n: i32, partial: usize, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  let s: f64 = 0;
  for (let i = i0; i < i1; i++) { const d = <f64>load<f32>(a + (<usize>i << 2)) - <f64>load<f32>(b + (<usize>i << 2)); s += d * d; }
  store<f64>(partial + (<usize>tid << 3), s);
}

/** out[0] = scale * sum of nt float64 partials */
export function partials_scaled(partial: usize, nt: i32, scale: f64, out: usize, tid: i32, ntt: i32): void {
  if (tid != 0) return;
  let s: f64 = 0;
  for (let i = 0; i < nt; i++) s += load<f64>(partial + (<usize>i << 3));
  store<f32>(out, <f32>(s * scale));
}

/** d = 2 scale dy[0] (a - b): da += d, db -= d (either may be 0: not wanted) */
export function mse_backward(a: usize, b: usize, dy: usize, scale: f32, da: usize, db: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const g: f32 = 2 * scale * load<f32>(dy);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const d = g * (load<f32>(a + o) - load<f32>(b + o));
    if (da != 0) store<f32>(da + o, load<f32>(da + o) + d);
    if (db != 0) store<f32>(db + o, load<f32>(db + o) - d);
  }
}

/** softmax of row x / T into p; returns logsumexp(x / T) */
function softRow(x: usize, invT: f32, p: usize, C: i32): f32 {
  let m: f32 = -Infinity;
  for (let i = 0; i < C; i++) m = max(m, load<f32>(x + (<usize>i << 2)) * invT);
  let s: f32 = 0;
  for (let i = 0; i < C; i++) {
    const e = exp1(load<f32>(x + (<usize>i << 2)) * invT - m);
    store<f32>(p + (<usize>i << 2), e);
    s += e;
  }
  const inv: f32 = 1 / s;
  for (let i = 0; i < C; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * inv);
  return m + Mathf.log(s);
}

/** per row: ps = softmax(s / T), pt = softmax(t / T), rowLoss = KL(pt || ps) = sum pt (log pt - log ps) */
export function kl_div_rows(s: usize, t: usize, invT: f32, ps: usize, pt: usize, rowLoss: usize, rows: i32, C: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * C) << 2;
    const ls = softRow(s + b, invT, ps + b, C), lt = softRow(t + b, invT, pt + b, C);
    let kl: f32 = 0;
    for (let i = 0; i < C; i++) {
      const o = b + (<usize>i << 2);
      const q = load<f32>(pt + o);
      if (q > 0) kl += q * ((load<f32>(t + o) * invT - lt) - (load<f32>(s + o) * invT - ls));
    }
    store<f32>(rowLoss + (<usize>r << 2), kl);
  }
}

/** ds += dy[0] scale (ps - pt) */
export function kl_div_backward(ps: usize, pt: usize, dy: usize, scale: f32, ds: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const g = load<f32>(dy) * scale;
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(ds + o, load<f32>(ds + o) + g * (load<f32>(ps + o) - load<f32>(pt + o)));
  }
}
