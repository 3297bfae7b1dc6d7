// WGSL kernel of dropout (see kernels/common/wgsl.ts for the conventions): the same counter-based mask as the CPU
// kernel and the twin (lowbias32 on u32 words: WGSL's u32 multiply wraps mod 2^32 as Math.imul / AssemblyScript's do).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

const LOWBIAS32 = /* wgsl */ `
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u; x *= 0x7feb352du;
  x ^= x >> 15u; x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
`;

/**
 * params: n, seed, threshold, scale, accumulate, offX, offOut | keep = (lowbias32(i ^ lowbias32(seed)) >> 8) >=
 * threshold; v = keep ? X[i] scale : 0; Out[i] = v, or Out[i] += v when accumulating (the backward).
 */
export const DROPOUT = HEADER + FLAT + LOWBIAS32 + storage([['X', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let keep = (lowbias32(i ^ lowbias32(pu(1u))) >> 8u) >= pu(2u);
  let v = select(0.0, X[pu(5u) + i] * pf(3u), keep);
  let o = pu(6u) + i;
  if (pu(4u) == 1u) { O[o] += v; } else { O[o] = v; }
}`;
