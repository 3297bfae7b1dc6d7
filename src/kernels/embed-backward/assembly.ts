// The embedding's gradient: a scatter-add of the output rows' gradients into the rows of the table they came from.
// Threads own column ranges, so two tokens with one id never race.
import { chunkStart, chunkEnd } from '../common/simd';

export function embed_backward(ids: usize, dy: usize, dtable: usize, T: i32, dim: i32, tid: i32, nt: i32): void {
  const j0 = chunkStart(dim, 4, tid, nt), j1 = chunkEnd(dim, 4, tid, nt);
  for (let t = 0; t < T; t++) {
    const id = load<i32>(ids + (<usize>t << 2));
    const s = dy + (<usize>(t * dim) << 2), d = dtable + (<usize>(id * dim) << 2);
    for (let j = j0; j < j1; j++) store<f32>(d + (<usize>j << 2), load<f32>(d + (<usize>j << 2)) + load<f32>(s + (<usize>j << 2)));
  }
}
