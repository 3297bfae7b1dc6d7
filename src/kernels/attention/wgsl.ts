// WGSL kernels of the attention op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage } from '../common/wgsl.js';

/**
 * Causal GQA attention over a KV cache, flash-style: params T, nHeads, nKV, hd, qStride, kvStride, pos0, window,
 * scale, offQ, offK, offV, offOut, nc (> 0: non-causal, every query sees keys 0 .. nc - 1). One workgroup of 64 per (query, head): each thread scores one key of a 64-key
 * tile, the tile's max and sum are reduced in workgroup memory, and thread i accumulates output dims i, i+64, ...
 */
export const ATTENTION = HEADER + storage([['Q', 'f32', false], ['Kc', 'f32', false], ['Vc', 'f32', false], ['O', 'f32', true]]) + `
var<workgroup> p: array<f32, 64>;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let item = w.x + w.y * nw.x;
  let nH = pu(1u); let hd = pu(3u);
  let valid = item < pu(0u) * nH;
  let t = min(item / nH, pu(0u) - 1u); let h = item % nH;
  let kvh = h / (nH / pu(2u));
  let qo = pu(9u) + t * pu(4u) + h * hd;
  let last = select(pu(6u) + t, pu(13u) - 1u, pu(13u) > 0u);
  var first = 0u;
  if (pu(7u) > 0u && last + 1u > pu(7u)) { first = last + 1u - pu(7u); }
  var m = -3.0e38; var lsum = 0.0;
  var acc: array<f32, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = 0.0; }
  let nkeys = last + 1u - first;
  let tiles = (nkeys + 63u) / 64u;
  for (var tile = 0u; tile < tiles; tile++) {
    let j = first + tile * 64u + l.x;
    var s = -3.0e38;
    if (j <= last) {
      var d = 0.0;
      for (var c = 0u; c < hd; c++) { d += Q[qo + c] * Kc[pu(10u) + j * pu(5u) + kvh * hd + c]; }
      s = d * pf(8u);
    }
    red[l.x] = s;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) { if (l.x < k) { red[l.x] = max(red[l.x], red[l.x + k]); } workgroupBarrier(); }
    let mNew = max(m, red[0]);
    workgroupBarrier();
    let e = select(0.0, exp(s - mNew), j <= last);
    p[l.x] = e;
    red[l.x] = e;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) { if (l.x < k) { red[l.x] += red[l.x + k]; } workgroupBarrier(); }
    let corr = exp(m - mNew);
    lsum = lsum * corr + red[0];
    m = mNew;
    let jn = min(64u, last + 1u - (first + tile * 64u));
    for (var i = 0u; i < 4u; i++) {
      let c = l.x + 64u * i;
      if (c < hd) {
        var a = acc[i] * corr;
        for (var jj = 0u; jj < jn; jj++) { a += p[jj] * Vc[pu(11u) + (first + tile * 64u + jj) * pu(5u) + kvh * hd + c]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  for (var i = 0u; i < 4u; i++) {
    let c = l.x + 64u * i;
    if (c < hd) { O[pu(12u) + t * pu(4u) + h * hd + c] = acc[i] / lsum; }
  }
}`;
