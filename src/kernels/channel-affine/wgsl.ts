// WGSL kernel of channel_affine (see kernels/common/wgsl.ts): one invocation per element of [N, C, S], in place.
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: n, C, S, hasScale, hasShift, offX, offScale, offShift */
export const CHANNEL_AFFINE = HEADER + FLAT + storage([['X', 'f32', true], ['A', 'f32', false], ['B', 'f32', false]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let c = (i / pu(2u)) % pu(1u);
  var v = X[pu(5u) + i];
  if (pu(3u) != 0u) { v *= A[pu(6u) + c]; }
  if (pu(4u) != 0u) { v += B[pu(7u) + c]; }
  X[pu(5u) + i] = v;
}`;
