// WGSL kernels of max_pool2d and avg_pool2d (see kernels/common/wgsl.ts): one invocation per output element.
import { HEADER, FLAT, storage } from '../common/wgsl.js';

const GEOMETRY = /* wgsl */ `
fn lo(v: u32) -> i32 { return i32(v & 0xffffu); }
fn hi(v: u32) -> i32 { return i32(v >> 16u); }
struct Win { plane: i32, h0: i32, h1: i32, w0: i32, w1: i32, W: i32 }
fn window(e: u32) -> Win {
  let H = lo(pu(1u)); let W = hi(pu(1u)); let OH = lo(pu(2u)); let OW = hi(pu(2u));
  let ei = i32(e); let ow = ei % OW; let oh = (ei / OW) % OH; let q = ei / (OW * OH);
  let hs = oh * lo(pu(4u)) - lo(pu(5u)); let ws = ow * hi(pu(4u)) - hi(pu(5u));
  return Win(q * H * W, max(hs, 0), min(hs + lo(pu(3u)), H), max(ws, 0), min(ws + hi(pu(3u)), W), W);
}`;

/** params: total, H | W << 16, OH | OW << 16, kh | kw << 16, sh | sw << 16, pt | pl << 16, offX, offOut, offIdx, hasIdx */
export const MAX_POOL2D = HEADER + FLAT + storage([['X', 'f32', false], ['O', 'f32', true], ['I', 'i32', true]]) + GEOMETRY + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let b = window(e);
  var best = -3.402823466e38;
  var at = b.h0 * b.W + b.w0;
  var first = true;
  for (var h = b.h0; h < b.h1; h++) {
    for (var x = b.w0; x < b.w1; x++) {
      let v = X[pu(6u) + u32(b.plane + h * b.W + x)];
      if (first || v > best) { best = v; at = h * b.W + x; first = false; }
    }
  }
  O[pu(7u) + e] = best;
  if (pu(9u) != 0u) { I[pu(8u) + e] = at; }
}`;

/** params: total, H | W << 16, OH | OW << 16, kh | kw << 16, sh | sw << 16, pt | pl << 16, offX, offOut, includePad */
export const AVG_POOL2D = HEADER + FLAT + storage([['X', 'f32', false], ['O', 'f32', true]]) + GEOMETRY + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let b = window(e);
  var s = 0.0;
  for (var h = b.h0; h < b.h1; h++) {
    for (var x = b.w0; x < b.w1; x++) { s += X[pu(6u) + u32(b.plane + h * b.W + x)]; }
  }
  var n = f32(max(1, (b.h1 - b.h0) * (b.w1 - b.w0)));
  if (pu(8u) != 0u) { n = f32(lo(pu(3u)) * hi(pu(3u))); }
  O[pu(7u) + e] = s / n;
}`;
