// Activations of training and their gradients: ReLU's mask, GELU (tanh form) forward and backward, the SwiGLU
// gate's backward, softmax's and log-softmax's backward, log-softmax forward. Gradients accumulate (dx += ...).
import { exp1, exp4, chunkStart, chunkEnd } from '../common/simd';

/** dx += x > 0 ? dy : 0 */
export function relu_backward(x: usize, dy: usize, dx: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const zero = f32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const g = v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), zero));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), g));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    if (load<f32>(x + o) > 0) store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o));
  }
}

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_A: f32 = 0.044715;

/** out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
export function gelu(x: usize, out: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, 0.5 * v * (1 + Mathf.tanh(GELU_C * (v + GELU_A * v * v * v))));
  }
}

export function gelu_backward(x: usize, dy: usize, dx: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const t = Mathf.tanh(GELU_C * (v + GELU_A * v * v * v));
    const d: f32 = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v);
    store<f32>(dx + o, load<f32>(dx + o) + d * load<f32>(dy + o));
  }
}

/** out = silu(g) u: dg += dy u s (1 + g (1 - s)), du += dy g s with s = sigmoid(g); dg or du may be 0 (not wanted) */
export function silu_mul_backward(g: usize, u: usize, dy: usize, dg: usize, du: usize, n: i32, overwrite: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  // overwrite bit 1: dg = ..., bit 2: du = ... (the accumulator holds nothing yet and is not read)
  const setG = (overwrite & 1) != 0, setU = (overwrite & 2) != 0;
  const one = f32x4.splat(1);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o), dv = v128.load(dy + o);
    const s = f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(gv))));
    if (dg != 0) {
      const d = f32x4.mul(f32x4.mul(f32x4.mul(dv, v128.load(u + o)), s), f32x4.add(one, f32x4.mul(gv, f32x4.sub(one, s))));
      v128.store(dg + o, setG ? d : f32x4.add(v128.load(dg + o), d));
    }
    if (du != 0) {
      const d = f32x4.mul(f32x4.mul(dv, gv), s);
      v128.store(du + o, setU ? d : f32x4.add(v128.load(du + o), d));
    }
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o), dv = load<f32>(dy + o);
    const s: f32 = 1 / (1 + exp1(-gv));
    if (dg != 0) { const d = dv * load<f32>(u + o) * s * (1 + gv * (1 - s)); store<f32>(dg + o, setG ? d : load<f32>(dg + o) + d); }
    if (du != 0) { const d = dv * gv * s; store<f32>(du + o, setU ? d : load<f32>(du + o) + d); }
  }
}

/** y = softmax(x) per row of n: dx += y (dy - sum(dy y)) */
export function softmax_backward(y: usize, dy: usize, dx: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * n) << 2;
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(y + b + (<usize>i << 2)) * load<f32>(dy + b + (<usize>i << 2));
    for (let i = 0; i < n; i++) {
      const o = b + (<usize>i << 2);
      store<f32>(dx + o, load<f32>(dx + o) + load<f32>(y + o) * (load<f32>(dy + o) - s));
    }
  }
}

/** out = x - logsumexp(x) per row of n */
export function log_softmax(x: usize, out: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * n) << 2;
    let m: f32 = -Infinity;
    for (let i = 0; i < n; i++) m = max(m, load<f32>(x + b + (<usize>i << 2)));
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += exp1(load<f32>(x + b + (<usize>i << 2)) - m);
    const lse = m + Mathf.log(s);
    for (let i = 0; i < n; i++) store<f32>(out + b + (<usize>i << 2), load<f32>(x + b + (<usize>i << 2)) - lse);
  }
}

/** y = log_softmax(x): dx += dy - exp(y) sum(dy) */
export function log_softmax_backward(y: usize, dy: usize, dx: usize, rows: i32, n: i32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  for (let r = r0; r < r1; r++) {
    const b = <usize>(r * n) << 2;
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(dy + b + (<usize>i << 2));
    for (let i = 0; i < n; i++) {
      const o = b + (<usize>i << 2);
      store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o) - exp1(load<f32>(y + o)) * s);
    }
  }
}
