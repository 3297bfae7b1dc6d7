// Embedding lookup.
import { chunkStart, chunkEnd } from '../common/simd';

/** out[t] = table[ids[t]] (rows of dim floats). ids are validated by the caller. */
export function embed(table: usize, ids: usize, out: usize, T: i32, dim: i32, tid: i32, nt: i32): void {
  const t0 = chunkStart(T, 1, tid, nt), t1 = chunkEnd(T, 1, tid, nt);
  const rowBytes = <usize>dim << 2;
  for (let t = t0; t < t1; t++) {
    const id = load<i32>(ids + (<usize>t << 2));
    memory.copy(out + <usize>t * rowBytes, table + <usize>id * rowBytes, rowBytes);
  }
}

