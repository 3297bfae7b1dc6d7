// WGSL kernel of conv2d (see kernels/common/wgsl.ts for the conventions): direct convolution, one invocation per
// output element, summing its group's Cg x kh x kw taps (zero padding skipped).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/**
 * params: total (N*O*OH*OW), C, H | W << 16, O, OH | OW << 16, groups, kh | kw << 16, sh | sw << 16, dh | dw << 16,
 * pt | pl << 16, hasBias, offX, offW, offB, offOut | 256 outputs per workgroup
 */
export const CONV2D = HEADER + FLAT + storage([['X', 'f32', false], ['Wt', 'f32', false], ['B', 'f32', false], ['O', 'f32', true]]) + `
fn lo(v: u32) -> i32 { return i32(v & 0xffffu); }
fn hi(v: u32) -> i32 { return i32(v >> 16u); }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let C = i32(pu(1u)); let H = lo(pu(2u)); let W = hi(pu(2u)); let Oc = i32(pu(3u));
  let OH = lo(pu(4u)); let OW = hi(pu(4u)); let G = i32(pu(5u));
  let kh = lo(pu(6u)); let kw = hi(pu(6u)); let sh = lo(pu(7u)); let sw = hi(pu(7u));
  let dh = lo(pu(8u)); let dw = hi(pu(8u)); let pt = lo(pu(9u)); let pl = hi(pu(9u));
  let ei = i32(e);
  let ow = ei % OW; let oh = (ei / OW) % OH; let o = (ei / (OW * OH)) % Oc; let n = ei / (OW * OH * Oc);
  let Cg = C / G; let g = o / (Oc / G);
  var s = 0.0;
  if (pu(10u) != 0u) { s = B[pu(13u) + u32(o)]; }
  for (var c = 0; c < Cg; c++) {
    let xp = i32(pu(11u)) + ((n * C + g * Cg + c) * H) * W;
    let wp = i32(pu(12u)) + ((o * Cg + c) * kh) * kw;
    for (var i = 0; i < kh; i++) {
      let h = oh * sh - pt + i * dh;
      if (h < 0 || h >= H) { continue; }
      for (var j = 0; j < kw; j++) {
        let x = ow * sw - pl + j * dw;
        if (x < 0 || x >= W) { continue; }
        s += X[u32(xp + h * W + x)] * Wt[u32(wp + i * kw + j)];
      }
    }
  }
  O[pu(14u) + e] = s;
}`;
