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

/**
 * params: n, offG, offU, offDY, offDG, offDU | s = sigmoid(G[i]): DG[i] += DY[i] U[i] s (1 + G[i] (1 - s)),
 * DU[i] += DY[i] G[i] s (a variant per pair of gradients wanted)
 */
export const SILU_MUL_BACKWARD = (dg: boolean, du: boolean): string => HEADER + FLAT + storage([['G', 'f32', false], ['U', 'f32', false], ['DY', 'f32', false],
  ...(dg ? [['DG', 'f32', true] as ['DG', 'f32', true]] : []), ...(du ? [['DU', 'f32', true] as ['DU', 'f32', true]] : [])]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let g = G[pu(1u) + i];
  let dy = DY[pu(3u) + i];
  let s = 1.0 / (1.0 + exp(-g));
  _ = U[pu(2u) + i]; // bound in every variant (the layout is derived from the bindings used)
  ${dg ? 'DG[pu(4u) + i] += dy * U[pu(2u) + i] * s * (1.0 + g * (1.0 - s));' : ''}
  ${du ? 'DU[pu(5u) + i] += dy * g * s;' : ''}
}`;
