// Dropout with a counter-based mask: element i is kept when hash(seed, i) >= p 2^24, so backward regenerates the
// mask from the seed instead of storing it (the twin and the WGSL use the same hash).
import { chunkStart, chunkEnd } from '../common/simd';

@inline function lowbias32(v: u32): u32 {
  let x = v;
  x ^= x >> 16; x *= 0x7feb352d;
  x ^= x >> 15; x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

/** out (+)= x keep / (1 - p), keep = (hash(seed, i) >> 8) >= threshold (threshold = round(p 2^24)) */
export function dropout(x: usize, out: usize, n: i32, seed: u32, threshold: u32, scale: f32, accumulate: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  const s = lowbias32(seed);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const keep = (lowbias32(<u32>i ^ s) >> 8) >= threshold;
    const v: f32 = keep ? load<f32>(x + o) * scale : 0;
    store<f32>(out + o, accumulate != 0 ? load<f32>(out + o) + v : v);
  }
}
