// WGSL kernels of the block-attention op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage } from '../common/wgsl.js';

/**
 * Non-causal block(-sparse) flash attention on [heads, N, D] (backend.ts blockAttention): params heads, N, block,
 * scale, mode (0 dense, 1 CSR lists, 2 bitmap), writeLse, offQ, offK, offV, offOut. One workgroup per (head, query
 * block), one thread per query row holding q and its output in registers; key/value sub-tiles of TK keys are
 * staged in workgroup memory (TK = 2048 / D keys = 16 KiB for K and V). Per sub-tile: TK scores, one rescale.
 */
export const BLOCK_ATTENTION = (D: number, B: number): string => {
  const TK = Math.max(4, Math.min(32, 2048 / D));
  return HEADER + storage([['Q', 'f32', false], ['Kx', 'f32', false], ['Vx', 'f32', false], ['O', 'f32', true], ['Lse', 'f32', true], ['RowPtr', 'u32', false], ['Cols', 'u32', false]]) + `
const D = ${D}u;
const B = ${B}u;
const TK = ${TK}u;
var<workgroup> ks: array<f32, ${TK * D}>;
var<workgroup> vs: array<f32, ${TK * D}>;
var<workgroup> wgKb: u32;
var<workgroup> wgCount: u32;
@compute @workgroup_size(${B})
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let N = pu(1u); let nb = (N + B - 1u) / B;
  let item = w.x + w.y * nw.x;
  let h = item / nb; let qb = item % nb;
  let inRange = h < pu(0u);
  let row = qb * B + l.x;
  let valid = inRange && row < N;
  let base = h * N * D;
  var q: array<f32, ${D}>;
  var o: array<f32, ${D}>;
  for (var c = 0u; c < D; c++) { q[c] = select(0.0, Q[pu(6u) + base + row * D + c], valid); o[c] = 0.0; }
  var m = -3.0e38; var lsum = 0.0;
  let mode = pu(4u);
  if (l.x == 0u) {
    var cnt = nb;
    if (mode == 1u && inRange) { cnt = RowPtr[item + 1u] - RowPtr[item]; }
    if (!inRange) { cnt = 0u; }
    wgCount = cnt;
  }
  let count = workgroupUniformLoad(&wgCount);
  for (var ci = 0u; ci < count; ci++) {
    if (l.x == 0u) {
      var kb = ci;
      if (mode == 1u) { kb = Cols[RowPtr[item] + ci]; }
      let bit = item * nb + ci;
      if (mode == 2u && ((Cols[bit / 4u] >> (8u * (bit % 4u))) & 0xffu) == 0u) { kb = 0xffffffffu; }
      wgKb = kb;
    }
    let kb = workgroupUniformLoad(&wgKb);
    if (kb == 0xffffffffu) { continue; }
    let j0 = kb * B;
    let jn = min(B, N - j0);
    for (var t0 = 0u; t0 < jn; t0 += TK) {
      let tn = min(TK, jn - t0);
      for (var e = l.x; e < TK * D; e += B) {
        let jj = e / D;
        let src = pu(7u) + base + (j0 + t0 + jj) * D + e % D;
        ks[e] = select(0.0, Kx[src], jj < tn);
        vs[e] = select(0.0, Vx[src - pu(7u) + pu(8u)], jj < tn);
      }
      workgroupBarrier();
      var s: array<f32, ${TK}>;
      var mt = m;
      for (var jj = 0u; jj < TK; jj++) {
        var d = 0.0;
        for (var c = 0u; c < D; c++) { d += q[c] * ks[jj * D + c]; }
        s[jj] = select(-3.0e38, d * pf(3u), jj < tn);
        mt = max(mt, s[jj]);
      }
      let corr = exp(m - mt);
      lsum *= corr;
      for (var c = 0u; c < D; c++) { o[c] *= corr; }
      for (var jj = 0u; jj < tn; jj++) {
        let e = exp(s[jj] - mt);
        lsum += e;
        for (var c = 0u; c < D; c++) { o[c] += e * vs[jj * D + c]; }
      }
      m = mt;
      workgroupBarrier();
    }
  }
  if (!valid) { return; }
  let inv = select(0.0, 1.0 / lsum, lsum > 0.0);
  for (var c = 0u; c < D; c++) { O[pu(9u) + base + row * D + c] = o[c] * inv; }
  if (pu(5u) == 1u) { Lse[h * N + row] = m + log(lsum); }
}`;
};

/** params: heads, N, block, scale, offQ, offK, offLse, offMass | mass[h, qb, kb] from the rows' lse; one workgroup per (head, qb) */
export const BLOCK_MASS = (D: number, B: number): string => {
  const TK = Math.max(4, Math.min(32, 4096 / D));
  return HEADER + storage([['Q', 'f32', false], ['Kx', 'f32', false], ['Lse', 'f32', false], ['Ms', 'f32', true]]) + `
const D = ${D}u;
const B = ${B}u;
const TK = ${TK}u;
var<workgroup> ks: array<f32, ${TK * D}>;
var<workgroup> red: array<f32, ${B}>;
@compute @workgroup_size(${B})
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let N = pu(1u); let nb = (N + B - 1u) / B;
  let item = w.x + w.y * nw.x;
  let h = min(item / nb, pu(0u) - 1u); let qb = item % nb;
  let inRange = item < pu(0u) * nb;
  let row = qb * B + l.x;
  let valid = inRange && row < N;
  let base = h * N * D;
  var q: array<f32, ${D}>;
  for (var c = 0u; c < D; c++) { q[c] = select(0.0, Q[pu(4u) + base + row * D + c], valid); }
  let lse = select(0.0, Lse[pu(6u) + h * N + row], valid);
  for (var kb = 0u; kb < nb; kb++) {
    let j0 = kb * B;
    let jn = min(B, N - j0);
    var acc = 0.0;
    for (var t0 = 0u; t0 < jn; t0 += TK) {
      let tn = min(TK, jn - t0);
      for (var e = l.x; e < TK * D; e += B) {
        let jj = e / D;
        ks[e] = select(0.0, Kx[pu(5u) + base + (j0 + t0 + jj) * D + e % D], jj < tn);
      }
      workgroupBarrier();
      for (var jj = 0u; jj < tn; jj++) {
        var d = 0.0;
        for (var c = 0u; c < D; c++) { d += q[c] * ks[jj * D + c]; }
        acc += exp(d * pf(3u) - lse);
      }
      workgroupBarrier();
    }
    red[l.x] = select(0.0, acc, valid);
    workgroupBarrier();
    for (var k = B / 2u; k > 0u; k >>= 1u) { if (l.x < k) { red[l.x] += red[l.x + k]; } workgroupBarrier(); }
    if (l.x == 0u && inRange) { Ms[pu(7u) + item * nb + kb] = red[0]; }
    workgroupBarrier();
  }
}`;
};
