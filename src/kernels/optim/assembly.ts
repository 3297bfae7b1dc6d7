// Optimizer steps with PyTorch's update order and formulas (torch.optim.AdamW / SGD, single-tensor path).
import { chunkStart, chunkEnd } from '../common/simd';

/**
 * AdamW: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), with bc1 = 1 - b1^t, bc2 = 1 - b2^t (passed as sqrt(bc2)).
 * The caller computes decay = 1 - lr wd, 1 - b1 and 1 - b2 in float64 and rounds them once, as PyTorch does with its
 * Python-float scalars (1 - b2 taken in float32 from b2 = 0.999 is off by 1.3e-5 relative).
 */
export function adamw_step(p: usize, g: usize, m: usize, v: usize, n: i32, decay: f32, omb1: f32, b2: f32, omb2: f32, eps: f32, stepSize: f32, bc2sqrt: f32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const vb1 = f32x4.splat(omb1), vb2 = f32x4.splat(b2), vb2c = f32x4.splat(omb2), vbc = f32x4.splat(bc2sqrt), veps = f32x4.splat(eps);
  const vdecay = f32x4.splat(decay), vstep = f32x4.splat(stepSize);
  let i = i0;
  // four lanes with the scalar tail's operation order, so every element rounds the same way
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o), m0 = v128.load(m + o);
    const mv = f32x4.add(m0, f32x4.mul(f32x4.sub(gv, m0), vb1));
    const vv = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(vb2c, gv), gv));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc), veps);
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), vdecay), f32x4.mul(vstep, f32x4.div(mv, denom))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o);
    const mv = load<f32>(m + o) + (gv - load<f32>(m + o)) * omb1;
    const vv = load<f32>(v + o) * b2 + omb2 * gv * gv;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const denom = Mathf.sqrt(vv) / bc2sqrt + eps;
    store<f32>(p + o, load<f32>(p + o) * decay - stepSize * (mv / denom));
  }
}

/**
 * SGD: d = g + wd p; buf = first ? d : momentum buf + (1 - dampening) d; d = nesterov ? d + momentum buf : buf
 * (plain d when momentum is 0); p -= lr d.
 */
export function sgd_step(p: usize, g: usize, buf: usize, n: i32, lr: f32, momentum: f32, dampening: f32, wd: f32, nesterov: i32, first: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    let d = load<f32>(g + o);
    if (wd != 0) d += wd * load<f32>(p + o);
    if (momentum != 0) {
      const b: f32 = first != 0 ? d : momentum * load<f32>(buf + o) + (1 - dampening) * d;
      store<f32>(buf + o, b);
      d = nesterov != 0 ? d + momentum * b : b;
    }
    store<f32>(p + o, load<f32>(p + o) - lr * d);
  }
}
