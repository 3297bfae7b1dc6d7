// WGSL kernels of upsample2d (one invocation per output) and its gradient (one invocation per input, the adjoint as
// a gather over the outputs that read it, added to dx), with the source coordinates of assembly.ts.
import { HEADER, FLAT, storage } from '../common/wgsl.js';

const COMMON = /* wgsl */ `
fn lo(v: u32) -> i32 { return i32(v & 0xffffu); }
fn hi(v: u32) -> i32 { return i32(v >> 16u); }
fn srcCoord(o: i32, I: i32, O: i32, s: i32, mode: u32) -> f32 {
  if (mode == 2u) { if (O > 1) { return f32(o * (I - 1)) / f32(O - 1); } return 0.0; }
  return max((f32(o) + 0.5) / f32(s) - 0.5, 0.0);
}
struct Taps { i0: i32, i1: i32, l1: f32 }
fn taps(o: i32, I: i32, O: i32, s: i32, mode: u32) -> Taps {
  if (mode == 0u) { let i = min(o / s, I - 1); return Taps(i, i, 0.0); }
  let src = srcCoord(o, I, O, s, mode);
  let i0 = min(i32(src), I - 1);
  return Taps(i0, select(i0, i0 + 1, i0 < I - 1), src - f32(i0));
}
fn tapWeight(o: i32, i: i32, I: i32, O: i32, s: i32, mode: u32) -> f32 {
  let t = taps(o, I, O, s, mode);
  return select(0.0, 1.0 - t.l1, t.i0 == i) + select(0.0, t.l1, t.i1 == i);
}
fn ratio(I: i32, O: i32, s: i32, mode: u32) -> f32 {
  if (mode == 2u) { if (I > 1) { return f32(O - 1) / f32(I - 1); } return f32(O); }
  return f32(s);
}
fn firstReader(i: i32, I: i32, O: i32, s: i32, mode: u32) -> i32 {
  if (mode == 0u) { return i * s; }
  return max(0, i32(floor(f32(i - 2) * ratio(I, O, s, mode))));
}
fn endReader(i: i32, I: i32, O: i32, s: i32, mode: u32) -> i32 {
  if (mode == 0u) { return select((i + 1) * s, O, i == I - 1); }
  return min(O, i32(ceil(f32(i + 2) * ratio(I, O, s, mode))) + 1);
}`;

/** params: total, H | W << 16, sh | sw << 16, mode, offX, offOut */
export const UPSAMPLE2D = HEADER + FLAT + storage([['X', 'f32', false], ['O', 'f32', true]]) + COMMON + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let H = lo(pu(1u)); let W = hi(pu(1u)); let sh = lo(pu(2u)); let sw = hi(pu(2u)); let mode = pu(3u);
  let OH = H * sh; let OW = W * sw;
  let ei = i32(e); let ow = ei % OW; let oh = (ei / OW) % OH; let q = ei / (OW * OH);
  let th = taps(oh, H, OH, sh, mode); let tw = taps(ow, W, OW, sw, mode);
  let base = pu(4u) + u32(q * H * W);
  let a = base + u32(th.i0 * W); let b = base + u32(th.i1 * W);
  let top = X[a + u32(tw.i0)] * (1.0 - tw.l1) + X[a + u32(tw.i1)] * tw.l1;
  let bot = X[b + u32(tw.i0)] * (1.0 - tw.l1) + X[b + u32(tw.i1)] * tw.l1;
  O[pu(5u) + e] = top * (1.0 - th.l1) + bot * th.l1;
}`;

/** params: total (inputs), H | W << 16, sh | sw << 16, mode, offDy, offDx */
export const UPSAMPLE2D_BACKWARD = HEADER + FLAT + storage([['DY', 'f32', false], ['DX', 'f32', true]]) + COMMON + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let H = lo(pu(1u)); let W = hi(pu(1u)); let sh = lo(pu(2u)); let sw = hi(pu(2u)); let mode = pu(3u);
  let OH = H * sh; let OW = W * sw;
  let ei = i32(e); let x = ei % W; let h = (ei / W) % H; let q = ei / (W * H);
  let plane = pu(4u) + u32(q * OH * OW);
  let ow0 = firstReader(x, W, OW, sw, mode); let ow1 = endReader(x, W, OW, sw, mode);
  var acc = 0.0;
  for (var oh = firstReader(h, H, OH, sh, mode); oh < endReader(h, H, OH, sh, mode); oh++) {
    let a = tapWeight(oh, h, H, OH, sh, mode);
    if (a == 0.0) { continue; }
    var t = 0.0;
    for (var ow = ow0; ow < ow1; ow++) {
      let b = tapWeight(ow, x, W, OW, sw, mode);
      if (b != 0.0) { t += b * DY[plane + u32(oh * OW + ow)]; }
    }
    acc += a * t;
  }
  DX[pu(5u) + e] += acc;
}`;
