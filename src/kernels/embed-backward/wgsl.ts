// WGSL kernels of the embed_backward op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage } from '../common/wgsl.js';

/**
 * params: rows (of the table), T, dim, offIds, offDY, offDT | the scatter-add as a gather: one workgroup of 64 per
 * table row r scans all T ids and adds dy[t] for each t with ids[t] = r, in order of t, thread i owning columns
 * i, i + 64, ... Each element has one writer and a fixed order (deterministic; WGSL has no float atomics), at the
 * cost of rows x T id reads.
 */
export const EMBED_BACKWARD = HEADER + storage([['Ids', 'i32', false], ['DY', 'f32', false], ['DT', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let r = w.x + w.y * nw.x;
  if (r >= pu(0u)) { return; }
  let dim = pu(2u);
  for (var c = l.x; c < dim; c += 64u) {
    let o = pu(5u) + r * dim + c;
    var a = DT[o];
    for (var t = 0u; t < pu(1u); t++) {
      if (u32(Ids[pu(3u) + t]) == r) { a += DY[pu(4u) + t * dim + c]; }
    }
    DT[o] = a;
  }
}`;
