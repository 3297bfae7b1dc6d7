// WGSL kernels of channel_affine (see kernels/common/wgsl.ts): one invocation per element of [N, C, S]; out of place,
// or in place (WebGPU cannot bind one buffer twice).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: n, C, S, hasScale, hasShift, offX, offScale, offShift, offOut */
export const CHANNEL_AFFINE = (inPlace: boolean): string => HEADER + FLAT +
  storage([['X', 'f32', inPlace], ['A', 'f32', false], ['B', 'f32', false], ...(inPlace ? [] : [['O', 'f32', true]] as [string, 'f32', boolean][])]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let c = (i / pu(2u)) % pu(1u);
  var v = X[pu(5u) + i];
  if (pu(3u) != 0u) { v *= A[pu(6u) + c]; }
  if (pu(4u) != 0u) { v += B[pu(7u) + c]; }
  ${inPlace ? 'X[pu(5u) + i] = v;' : 'O[pu(8u) + i] = v;'}
}`;
