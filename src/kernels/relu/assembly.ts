// ReLU: out = max(x, 0), out of place or in place (out == x). Threads split the elements.
import { chunkStart, chunkEnd } from '../common/simd';

export function relu(x: usize, out: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const z = f32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.max(v128.load(x + o), z));
  }
  for (; i < i1; i++) { const o = <usize>i << 2; store<f32>(out + o, max(load<f32>(x + o), 0)); }
}
