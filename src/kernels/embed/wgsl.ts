// WGSL kernels of the embed op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: T, dim, offIds, offTable, offOut | out[t] = table[ids[t]] */
export const EMBED = HEADER + FLAT + storage([['Ids', 'i32', false], ['Tb', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  let dim = pu(1u);
  if (i >= pu(0u) * dim) { return; }
  let t = i / dim;
  O[pu(4u) + i] = Tb[pu(3u) + u32(Ids[pu(2u) + t]) * dim + i % dim];
}`;
