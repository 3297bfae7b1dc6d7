// WGSL kernels of the rope op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: T, heads, headDim, stride, pos0, neox, offX, offCos, offSin | in place, one thread per (t, head, pair) */
export const ROPE = HEADER + FLAT + storage([['X', 'f32', true], ['C', 'f32', false], ['S', 'f32', false]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  let half = pu(2u) / 2u;
  if (i >= pu(0u) * pu(1u) * half) { return; }
  let t = i / (pu(1u) * half);
  let h = (i / half) % pu(1u);
  let j = i % half;
  let base = pu(6u) + t * pu(3u) + h * pu(2u);
  let c = C[pu(7u) + (pu(4u) + t) * half + j];
  let s = S[pu(8u) + (pu(4u) + t) * half + j];
  var a: u32; var b: u32;
  if (pu(5u) == 1u) { a = base + j; b = base + j + half; } else { a = base + 2u * j; b = a + 1u; }
  let x0 = X[a]; let x1 = X[b];
  X[a] = x0 * c - x1 * s;
  X[b] = x0 * s + x1 * c;
}`;
