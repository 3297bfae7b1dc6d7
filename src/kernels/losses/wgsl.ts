// WGSL kernels of the losses (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage, REDUCE, SG, ROW_MAIN } from '../common/wgsl.js';

/**
 * params: rows, C, offX, offLabels, offProbs, offRowLoss | one invocation per row: probs = softmax(x), rowLoss =
 * logsumexp(x) - x[label] (max-shifted)
 */
export const CROSS_ENTROPY_ROWS = HEADER + FLAT + storage([['X', 'f32', false], ['L', 'i32', false], ['Pr', 'f32', true], ['RL', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let r = flat(w, nw, 64u, l);
  if (r >= pu(0u)) { return; }
  let C = pu(1u);
  let xo = pu(2u) + r * C;
  let po = pu(4u) + r * C;
  var m = X[xo];
  for (var i = 1u; i < C; i++) { m = max(m, X[xo + i]); }
  var s = 0.0;
  for (var i = 0u; i < C; i++) { let e = exp(X[xo + i] - m); Pr[po + i] = e; s += e; }
  for (var i = 0u; i < C; i++) { Pr[po + i] = Pr[po + i] / s; }
  RL[pu(5u) + r] = m + log(s) - X[xo + u32(L[pu(3u) + r])];
}`;

/** params: n, scale, offSrc, offOut | one workgroup: O[0] = scale * sum(S[0..n)) */
export const SUM_SCALED = HEADER + storage([['S', 'f32', false], ['O', 'f32', true]]) + `
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) l: vec3<u32>) {
  var s = 0.0;
  for (var i = l.x; i < pu(0u); i += 256u) { s += S[pu(2u) + i]; }
  red[l.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l.x < k) { red[l.x] += red[l.x + k]; }
    workgroupBarrier();
  }
  if (l.x == 0u) { O[pu(3u)] = red[0] * pf(1u); }
}`;

/** params: n, C, scale, offP, offLabels, offDY, offDX | DX[i] += DY[0] scale (P[i] - [i % C == label]) */
export const CROSS_ENTROPY_BACKWARD = HEADER + FLAT + storage([['Pr', 'f32', false], ['L', 'i32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let C = pu(1u);
  let onehot = select(0.0, 1.0, i32(i % C) == L[pu(4u) + i / C]);
  DX[pu(6u) + i] += DY[pu(5u)] * pf(2u) * (Pr[pu(3u) + i] - onehot);
}`;

/**
 * params: n, offA, offB, offPartial | one workgroup per 256-wide stripe set: Part[wg] = sum of (A - B)^2 over the
 * elements i = wg 256 + l + k (groups 256) (a fixed tree per workgroup: deterministic)
 */
export const SQ_DIFF_PARTIAL = HEADER + storage([['A', 'f32', false], ['B', 'f32', false], ['Part', 'f32', true]]) + `
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  var s = 0.0;
  for (var i = w.x * 256u + l.x; i < pu(0u); i += nw.x * 256u) { let d = A[pu(1u) + i] - B[pu(2u) + i]; s += d * d; }
  red[l.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l.x < k) { red[l.x] += red[l.x + k]; }
    workgroupBarrier();
  }
  if (l.x == 0u) { Part[pu(3u) + w.x] = red[0]; }
}`;

/**
 * params: n, scale, offA, offB, offDY, offDA, offDB | d = DY[0] 2 scale (A[i] - B[i]); DA[i] += d, DB[i] -= d (a variant
 * per pair of gradients wanted: WebGPU binds no placeholder for a missing output twice)
 */
export const MSE_BACKWARD = (da: boolean, db: boolean): string => HEADER + FLAT + storage([['A', 'f32', false], ['B', 'f32', false], ['DY', 'f32', false],
  ...(da ? [['DA', 'f32', true] as ['DA', 'f32', true]] : []), ...(db ? [['DB', 'f32', true] as ['DB', 'f32', true]] : [])]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let d = DY[pu(4u)] * 2.0 * pf(1u) * (A[pu(2u) + i] - B[pu(3u) + i]);
  ${da ? 'DA[pu(5u) + i] += d;' : ''}
  ${db ? 'DB[pu(6u) + i] -= d;' : ''}
}`;

/**
 * params: rows, C, invT, offS, offT, offPS, offPT, offRowLoss | one workgroup per row, as the CPU's kl_div_rows:
 * PS = softmax(S invT), PT = softmax(T invT) (each max-shifted, scaled by 1 / sum), ls / lt their logsumexps, and
 * RL[r] = sum over PT > 0 of PT ((T invT - lt) - (S invT - ls)). The reductions are workgroup trees (or subgroups).
 */
export const KL_DIV_ROWS = (sub: boolean): string => SG(sub).enable + HEADER +
  storage([['S', 'f32', false], ['Tt', 'f32', false], ['PS', 'f32', true], ['PT', 'f32', true], ['RL', 'f32', true]]) + REDUCE(sub) + `
${ROW_MAIN(sub)}
  let C = pu(1u);
  let invT = pf(2u);
  let so = pu(3u) + r * C;
  let to = pu(4u) + r * C;
  var ms = -3.0e38;
  var mt = -3.0e38;
  if (valid) { for (var i = l.x; i < C; i += 256u) { ms = max(ms, S[so + i] * invT); mt = max(mt, Tt[to + i] * invT); } }
  let mxs = wgReduce(ms, l.x, ${SG(sub).args}, true);
  let mxt = wgReduce(mt, l.x, ${SG(sub).args}, true);
  var zs = 0.0;
  var zt = 0.0;
  if (valid) { for (var i = l.x; i < C; i += 256u) { zs += exp(S[so + i] * invT - mxs); zt += exp(Tt[to + i] * invT - mxt); } }
  let sums = wgReduce(zs, l.x, ${SG(sub).args}, false);
  let sumt = wgReduce(zt, l.x, ${SG(sub).args}, false);
  let ls = mxs + log(sums);
  let lt = mxt + log(sumt);
  let invs = 1.0 / sums;
  let invt = 1.0 / sumt;
  var kl = 0.0;
  if (valid) {
    for (var i = l.x; i < C; i += 256u) {
      let s = S[so + i] * invT;
      let t = Tt[to + i] * invT;
      let q = exp(t - mxt) * invt;
      PS[pu(5u) + r * C + i] = exp(s - mxs) * invs;
      PT[pu(6u) + r * C + i] = q;
      if (q > 0.0) { kl += q * ((t - lt) - (s - ls)); }
    }
  }
  let tot = wgReduce(kl, l.x, ${SG(sub).args}, false);
  if (valid && l.x == 0u) { RL[pu(7u) + r] = tot; }
}`;

/** params: n, scale, offPS, offPT, offDY, offDS | DS[i] += (DY[0] scale) (PS[i] - PT[i]) */
export const KL_DIV_BACKWARD = HEADER + FLAT + storage([['PS', 'f32', false], ['PT', 'f32', false], ['DY', 'f32', false], ['DS', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let g = DY[pu(4u)] * pf(1u);
  DS[pu(5u) + i] += g * (PS[pu(2u) + i] - PT[pu(3u) + i]);
}`;
