// Sigmoid: out = 1 / (1 + exp(-x)) (as exp(x) / (1 + exp(x)) for negative x, so exp never overflows), and its
// gradient from the output y: dx += dy y (1 - y) (SIMD). Threads split the elements.
import { chunkStart, chunkEnd } from '../common/simd';

export function sigmoid(x: usize, out: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2, v = load<f32>(x + o);
    const e = Mathf.exp(-Mathf.abs(v));
    store<f32>(out + o, v >= 0 ? 1 / (1 + e) : e / (1 + e));
  }
}

export function sigmoid_backward(y: usize, dy: usize, dx: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const one = f32x4.splat(1);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2, v = v128.load(y + o);
    v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(v128.load(dy + o), f32x4.mul(v, f32x4.sub(one, v)))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2, v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o) * v * (1 - v));
  }
}
