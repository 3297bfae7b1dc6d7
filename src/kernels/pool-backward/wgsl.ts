// WGSL kernels of the pooling gradients (see kernels/common/wgsl.ts): one invocation per input element, gathering
// the gradients of the outputs whose windows cover it (windows may overlap; a gather needs no atomics).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** the outputs oh in [a, b) whose window (start oh s - pad, length k) covers input position h, clipped to [0, OH) */
const GEOMETRY = /* wgsl */ `
fn lo(v: u32) -> i32 { return i32(v & 0xffffu); }
fn hi(v: u32) -> i32 { return i32(v >> 16u); }
fn covering(h: i32, k: i32, s: i32, pad: i32, OH: i32) -> vec2<i32> {
  let t = h + pad;
  // oh s <= t and oh s > t - k: from ceil((t - k + 1) / s) to floor(t / s), t >= 0
  return vec2<i32>(max(0, (t - k + s) / s), min(OH, t / s + 1));
}`;

/** params: total, H | W << 16, OH | OW << 16, kh | kw << 16, sh | sw << 16, pt | pl << 16, offDy, offIdx, offDx */
export const MAX_POOL2D_BACKWARD = HEADER + FLAT + storage([['DY', 'f32', false], ['I', 'i32', false], ['DX', 'f32', true]]) + GEOMETRY + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let H = lo(pu(1u)); let W = hi(pu(1u)); let OH = lo(pu(2u)); let OW = hi(pu(2u));
  let ei = i32(e); let x = ei % W; let h = (ei / W) % H; let q = ei / (W * H);
  let rh = covering(h, lo(pu(3u)), lo(pu(4u)), lo(pu(5u)), OH);
  let rw = covering(x, hi(pu(3u)), hi(pu(4u)), hi(pu(5u)), OW);
  let at = h * W + x;
  var s = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    for (var ow = rw.x; ow < rw.y; ow++) {
      let o = u32((q * OH + oh) * OW + ow);
      if (I[pu(7u) + o] == at) { s += DY[pu(6u) + o]; }
    }
  }
  DX[pu(8u) + e] += s;
}`;

/** params: total, H | W << 16, OH | OW << 16, kh | kw << 16, sh | sw << 16, pt | pl << 16, offDy, offDx, includePad */
export const AVG_POOL2D_BACKWARD = HEADER + FLAT + storage([['DY', 'f32', false], ['DX', 'f32', true]]) + GEOMETRY + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let H = lo(pu(1u)); let W = hi(pu(1u)); let OH = lo(pu(2u)); let OW = hi(pu(2u));
  let kh = lo(pu(3u)); let kw = hi(pu(3u)); let sh = lo(pu(4u)); let sw = hi(pu(4u)); let pt = lo(pu(5u)); let pl = hi(pu(5u));
  let ei = i32(e); let x = ei % W; let h = (ei / W) % H; let q = ei / (W * H);
  let rh = covering(h, kh, sh, pt, OH);
  let rw = covering(x, kw, sw, pl, OW);
  var s = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    let h0 = oh * sh - pt;
    let nh = min(h0 + kh, H) - max(h0, 0);
    for (var ow = rw.x; ow < rw.y; ow++) {
      let w0 = ow * sw - pl;
      var n = f32(max(1, nh * (min(w0 + kw, W) - max(w0, 0))));
      if (pu(8u) != 0u) { n = f32(kh * kw); }
      s += DY[pu(6u) + u32((q * OH + oh) * OW + ow)] / n;
    }
  }
  DX[pu(7u) + e] += s;
}`;
