// WGSL kernels of the packed op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: rows, cols, group, bits, offOut | packed int4 / int8 codes (quant/pack.ts) -> f32, one thread per weight */
export const DEQUANT = HEADER + FLAT + storage([['Cd', 'u32', false], ['Sc', 'f32', false], ['Zr', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  let cols = pu(1u);
  if (i >= pu(0u) * cols) { return; }
  let r = i / cols; let c = i % cols;
  var q: u32;
  if (pu(3u) == 8u) {
    let b = r * cols + c;
    q = (Cd[b / 4u] >> (8u * (b % 4u))) & 0xffu;
  } else {
    let j = c % 32u;
    let b = r * (cols / 2u) + (c - j) / 2u + j % 16u;
    let byte = (Cd[b / 4u] >> (8u * (b % 4u))) & 0xffu;
    q = select(byte & 15u, byte >> 4u, j >= 16u);
  }
  let g = r * (cols / pu(2u)) + c / pu(2u);
  O[pu(4u) + i] = Sc[g] * (f32(q) - Zr[g]);
}`;
