// Element-wise kernels: residual add, SwiGLU gate (SiLU(g) * u).
import { exp4, exp1, chunkStart, chunkEnd } from '../common/simd';

/** a += b over n floats. */
export function add_inplace(a: usize, b: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(a + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < i1; i++) { const o = <usize>i << 2; store<f32>(a + o, load<f32>(a + o) + load<f32>(b + o)); }
}

/** out = g * sigmoid(g) * u (LLaMA MLP gate). */
export function silu_mul(g: usize, u: usize, out: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const one = f32x4.splat(1.0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o);
    const sig = f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(gv))));
    v128.store(out + o, f32x4.mul(f32x4.mul(gv, sig), v128.load(u + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o);
    store<f32>(out + o, gv / (1.0 + exp1(-gv)) * load<f32>(u + o));
  }
}

// exp1 is re-exported for the unit tests of the approximation.
export function exp_f32(x: f32): f32 {
  return exp1(x);
}
