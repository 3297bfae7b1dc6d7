// WGSL kernels of relu (see kernels/common/wgsl.ts): out of place, or in place (WebGPU cannot bind one buffer twice).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: n, offX, offOut */
export const RELU = (inPlace: boolean): string => HEADER + FLAT + storage(inPlace ? [['X', 'f32', true]] : [['X', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  ${inPlace ? 'X[pu(1u) + i] = max(X[pu(1u) + i], 0.0);' : 'O[pu(2u) + i] = max(X[pu(1u) + i], 0.0);'}
}`;
