// WGSL kernels of the activation gradients (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: n, offX, offDY, offDX | DX[i] += X[i] > 0 ? DY[i] : 0 */
export const RELU_BACKWARD = HEADER + FLAT + storage([['X', 'f32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  if (X[pu(1u) + i] > 0.0) { DX[pu(3u) + i] += DY[pu(2u) + i]; }
}`;
