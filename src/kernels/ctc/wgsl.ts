// WGSL kernel of the CTC loss and its gradient (see kernels/common/wgsl.ts for the conventions): the CPU kernel's
// recursions in log space, in float32 (WGSL has no float64), one workgroup per batch item. -inf is a sentinel
// (-1e30; anything below -1e29 counts as -inf), log1p(e) is log(1 + e).
import { HEADER, storage } from '../common/wgsl.js';

/**
 * params: offX, offTargets, offTargetLengths, offInputLengths, T, B, C, blank, maxLen, offWork, offNll, offDY,
 * offDX, scale | workgroup b, with Work holding per item T C log-probabilities, then alpha and beta [T, 2 maxLen + 1]:
 * the log-softmax of each frame (an invocation per frame, classes in order), alpha over the blank-extended labels
 * (an invocation per position, a barrier per frame), Nll[b] = -log p / max(1, L); with `dx`: beta likewise, then an
 * invocation per frame adds w softmax and subtracts w exp(alpha + beta - log p) position by position (the CPU's order),
 * w = DY[0] scale / max(1, L).
 */
export const CTC = (dx: boolean): string => HEADER + storage([['X', 'f32', false], ['Tg', 'i32', false], ['TL', 'i32', false], ['IL', 'i32', false],
  ['Work', 'f32', true], ['Nll', 'f32', true], ...(dx ? [['DY', 'f32', false], ['DX', 'f32', true]] as [string, 'f32', boolean][] : [])]) + `
const NEG = -1.0e30;
fn lse2(a: f32, b: f32) -> f32 {
  if (a < -1.0e29) { return b; }
  if (b < -1.0e29) { return a; }
  return max(a, b) + log(1.0 + exp(-abs(a - b)));
}
fn label(b: u32, s: u32) -> u32 {
  if ((s & 1u) == 0u) { return pu(7u); }
  return u32(Tg[pu(1u) + b * pu(8u) + (s - 1u) / 2u]);
}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let b = w.x + w.y * nw.x; // past 65535 items the dispatch is two-dimensional
  let T = pu(4u);
  let B = pu(5u);
  if (b >= B) { return; } // the whole workgroup: uniform
  let C = pu(6u);
  let Smax = 2u * pu(8u) + 1u;
  let Tb = u32(IL[pu(3u) + b]);
  let L = u32(TL[pu(2u) + b]);
  let S = 2u * L + 1u;
  let lp = pu(9u) + b * (T * C + 2u * T * Smax);
  let al = lp + T * C;
  let be = al + T * Smax;
  for (var t = l.x; t < Tb; t += 128u) {
    let row = pu(0u) + (t * B + b) * C;
    var m = X[row];
    for (var c = 1u; c < C; c++) { m = max(m, X[row + c]); }
    var z = 0.0;
    for (var c = 0u; c < C; c++) { z += exp(X[row + c] - m); }
    let lz = m + log(z);
    for (var c = 0u; c < C; c++) { Work[lp + t * C + c] = X[row + c] - lz; }
  }
  storageBarrier();
  for (var s = l.x; s < S; s += 128u) { Work[al + s] = select(NEG, Work[lp + label(b, s)], s < 2u); }
  storageBarrier();
  for (var t = 1u; t < Tb; t++) {
    for (var s = l.x; s < S; s += 128u) {
      let ls = label(b, s);
      let p = al + (t - 1u) * Smax;
      var a = Work[p + s];
      if (s >= 1u) { a = lse2(a, Work[p + s - 1u]); }
      if (s >= 2u && ls != pu(7u) && ls != label(b, s - 2u)) { a = lse2(a, Work[p + s - 2u]); }
      Work[al + t * Smax + s] = a + Work[lp + t * C + ls];
    }
    storageBarrier();
  }
  let last = al + (Tb - 1u) * Smax;
  var logp = Work[last];
  if (S > 1u) { logp = lse2(Work[last + S - 1u], Work[last + S - 2u]); }
  let Lc = f32(max(1u, L));
  if (l.x == 0u) { Nll[pu(10u) + b] = -logp / Lc; }
  ${dx ? `for (var s = l.x; s < S; s += 128u) { Work[be + (Tb - 1u) * Smax + s] = select(NEG, 0.0, s + 2u >= S); }
  storageBarrier();
  for (var tt = 1u; tt < Tb; tt++) {
    let t = Tb - 1u - tt;
    let n = be + (t + 1u) * Smax;
    let q = lp + (t + 1u) * C;
    for (var s = l.x; s < S; s += 128u) {
      var v = Work[n + s] + Work[q + label(b, s)];
      if (s + 1u < S) { v = lse2(v, Work[n + s + 1u] + Work[q + label(b, s + 1u)]); }
      if (s + 2u < S) {
        let l2 = label(b, s + 2u);
        if (l2 != pu(7u) && l2 != label(b, s)) { v = lse2(v, Work[n + s + 2u] + Work[q + l2]); }
      }
      Work[be + t * Smax + s] = v;
    }
    storageBarrier();
  }
  let wt = DY[pu(11u)] * pf(13u) / Lc;
  for (var t = l.x; t < Tb; t += 128u) {
    let d = pu(12u) + (t * B + b) * C;
    for (var c = 0u; c < C; c++) { DX[d + c] += wt * exp(Work[lp + t * C + c]); }
    for (var s = 0u; s < S; s++) { DX[d + label(b, s)] -= wt * exp(Work[al + t * Smax + s] + Work[be + t * Smax + s] - logp); }
  }` : ''}
}`;
