// WGSL kernels of batch_norm and batch_norm_backward (see kernels/common/wgsl.ts): one workgroup of 256 invocations
// per channel, its sums over the N x S values as workgroup reductions (the mean first, then the centred squares).
import { HEADER, REDUCE, storage } from '../common/wgsl.js';

/** element i of channel c's N x S values */
const AT = /* wgsl */ `
fn at(i: u32, c: u32) -> u32 { let S = pu(2u); return ((i / S) * pu(1u) + c) * S + i % S; }`;

/**
 * params: N, C, S, train, momentum (f32), eps (f32), offX, offG, offB, offRM, offRV, offOut, offMean, offInv | training:
 * the batch statistics (the running averages updated, the variance unbiased); evaluation: the running ones
 */
export const BATCH_NORM = HEADER + storage([['X', 'f32', false], ['G', 'f32', false], ['Bt', 'f32', false], ['RM', 'f32', true], ['RV', 'f32', true],
  ['Out', 'f32', true], ['Mean', 'f32', true], ['Inv', 'f32', true]]) + REDUCE(false) + AT + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let c = w.x; let lid = l.x; let M = pu(0u) * pu(2u);
  var mu = RM[pu(9u) + c];
  var inv = 1.0 / sqrt(RV[pu(10u) + c] + pf(5u));
  if (pu(3u) != 0u) {
    var s = 0.0;
    for (var i = lid; i < M; i += 256u) { s += X[pu(6u) + at(i, c)]; }
    mu = wgReduce(s, lid, 0u, 1u, false) / f32(M);
    // a second barrier between the two reductions: without it llvmpipe (Dawn on GL ES) let some invocations read the
    // mean after the second reduction had begun overwriting the workgroup memory (wrong variances in the tests)
    workgroupBarrier();
    var q = 0.0;
    for (var i = lid; i < M; i += 256u) { let d = X[pu(6u) + at(i, c)] - mu; q += d * d; }
    let ss = wgReduce(q, lid, 0u, 1u, false);
    let v = ss / f32(M);
    inv = 1.0 / sqrt(v + pf(5u));
    if (lid == 0u) {
      let m = pf(4u);
      RM[pu(9u) + c] = (1.0 - m) * RM[pu(9u) + c] + m * mu;
      RV[pu(10u) + c] = (1.0 - m) * RV[pu(10u) + c] + m * select(v, ss / f32(M - 1u), M > 1u);
    }
  }
  if (lid == 0u) { Mean[pu(12u) + c] = mu; Inv[pu(13u) + c] = inv; }
  let g = G[pu(7u) + c] * inv; let b = Bt[pu(8u) + c] - mu * g;
  for (var i = lid; i < M; i += 256u) { let e = at(i, c); Out[pu(11u) + e] = X[pu(6u) + e] * g + b; }
}`;

/**
 * params: N, C, S, train, offX, offG, offMean, offInv, offDy, offDx, offDg, offDb, hasDx, hasDg, hasDb |
 * xhat = (x - mean) invstd: dgamma += sum dy xhat, dbeta += sum dy; dx += gamma invstd (dy - (dbeta + xhat dgamma) / M)
 * in training, dx += gamma invstd dy in evaluation
 */
export const BATCH_NORM_BACKWARD = HEADER + storage([['X', 'f32', false], ['G', 'f32', false], ['Mean', 'f32', false], ['Inv', 'f32', false], ['DY', 'f32', false],
  ['DX', 'f32', true], ['DG', 'f32', true], ['DB', 'f32', true]]) + REDUCE(false) + AT + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let c = w.x; let lid = l.x; let M = pu(0u) * pu(2u);
  let mu = Mean[pu(6u) + c]; let inv = Inv[pu(7u) + c];
  var a = 0.0; var b = 0.0;
  for (var i = lid; i < M; i += 256u) {
    let e = at(i, c); let d = DY[pu(8u) + e];
    a += d; b += d * (X[pu(4u) + e] - mu) * inv;
  }
  let sdy = wgReduce(a, lid, 0u, 1u, false);
  workgroupBarrier(); // as in BATCH_NORM, between two reductions
  let sdyx = wgReduce(b, lid, 0u, 1u, false);
  if (lid == 0u) {
    if (pu(13u) != 0u) { DG[pu(10u) + c] += sdyx; }
    if (pu(14u) != 0u) { DB[pu(11u) + c] += sdy; }
  }
  if (pu(12u) == 0u) { return; }
  let k = G[pu(5u) + c] * inv;
  for (var i = lid; i < M; i += 256u) {
    let e = at(i, c);
    var g = DY[pu(8u) + e];
    if (pu(3u) != 0u) { g -= (sdy + (X[pu(4u) + e] - mu) * inv * sdyx) / f32(M); }
    DX[pu(9u) + e] += k * g;
  }
}`;
