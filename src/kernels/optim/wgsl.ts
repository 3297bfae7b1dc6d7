// WGSL kernels of the optimizer steps (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: n, offP, offG, offM, offV, decay (1 - lr wd), 1 - b1, b2, 1 - b2, eps, stepSize, bc2sqrt */
export const ADAMW = HEADER + FLAT + storage([['Pm', 'f32', true], ['G', 'f32', false], ['Mm', 'f32', true], ['V', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let g = G[pu(2u) + i];
  let m0 = Mm[pu(3u) + i];
  let m = m0 + (g - m0) * pf(6u);
  let v = V[pu(4u) + i] * pf(7u) + pf(8u) * g * g;
  Mm[pu(3u) + i] = m;
  V[pu(4u) + i] = v;
  let denom = sqrt(v) / pf(11u) + pf(9u);
  Pm[pu(1u) + i] = Pm[pu(1u) + i] * pf(5u) - pf(10u) * (m / denom);
}`;

/** params: n, offP, offG, offB, lr, momentum, dampening, wd, nesterov, first */
export const SGD = HEADER + FLAT + storage([['Pm', 'f32', true], ['G', 'f32', false], ['Bf', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  var d = G[pu(2u) + i] + pf(7u) * Pm[pu(1u) + i];
  let mom = pf(5u);
  if (mom != 0.0) {
    let b = select(mom * Bf[pu(3u) + i] + (1.0 - pf(6u)) * d, d, pu(9u) != 0u);
    Bf[pu(3u) + i] = b;
    d = select(b, d + mom * b, pu(8u) != 0u);
  }
  Pm[pu(1u) + i] = Pm[pu(1u) + i] - pf(4u) * d;
}`;
