// WGSL kernels of layer_norm and layer_norm_backward (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage, REDUCE, SG, ROW_MAIN } from '../common/wgsl.js';

/**
 * params: rows, n, eps, hasB, offX, offW, offB, offOut, offMean, offRstd | one workgroup per row, as the CPU kernel:
 * mu = sum(x) / n, then the biased variance sum((x - mu)^2) / n in a second pass, rstd = 1 / sqrt(var + eps);
 * Out = (x - mu) rstd w (+ b when hasB); Mean[r] = mu, Rstd[r] = rstd.
 */
export const LAYER_NORM = (sub: boolean): string => SG(sub).enable + HEADER +
  storage([['X', 'f32', false], ['Wt', 'f32', false], ['B', 'f32', false], ['O', 'f32', true], ['Mean', 'f32', true], ['Rstd', 'f32', true]]) + REDUCE(sub) + `
${ROW_MAIN(sub)}
  let n = pu(1u);
  let xo = pu(4u) + r * n;
  var s = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { s += X[xo + i]; } }
  let mu = wgReduce(s, l.x, ${SG(sub).args}, false) / f32(n);
  var ss = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { let d = X[xo + i] - mu; ss += d * d; } }
  let rs = 1.0 / sqrt(wgReduce(ss, l.x, ${SG(sub).args}, false) / f32(n) + pf(2u));
  if (!valid) { return; }
  if (l.x == 0u) { Mean[pu(8u) + r] = mu; Rstd[pu(9u) + r] = rs; }
  let hasB = pu(3u) == 1u;
  for (var i = l.x; i < n; i += 256u) {
    var v = (X[xo + i] - mu) * rs * Wt[pu(5u) + i];
    if (hasB) { v += B[pu(6u) + i]; }
    O[pu(7u) + r * n + i] = v;
  }
}`;

/**
 * params: rows, n, offX, offW, offMean, offRstd, offDY, offDX | one workgroup per row: g = dy w, xh = (x - mu) rstd,
 * DX += rstd (g - mean(g) - xh mean(g xh)).
 */
export const LAYER_NORM_BACKWARD_X = (sub: boolean): string => SG(sub).enable + HEADER +
  storage([['X', 'f32', false], ['Wt', 'f32', false], ['Mean', 'f32', false], ['Rstd', 'f32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + REDUCE(sub) + `
${ROW_MAIN(sub)}
  let n = pu(1u);
  let xo = pu(2u) + r * n;
  let dyo = pu(6u) + r * n;
  var mu = 0.0;
  var rs = 0.0;
  if (valid) { mu = Mean[pu(4u) + r]; rs = Rstd[pu(5u) + r]; }
  var sg = 0.0;
  var sgx = 0.0;
  if (valid) {
    for (var i = l.x; i < n; i += 256u) { let g = DY[dyo + i] * Wt[pu(3u) + i]; sg += g; sgx += g * (X[xo + i] - mu) * rs; }
  }
  let mg = wgReduce(sg, l.x, ${SG(sub).args}, false) / f32(n);
  let mgx = wgReduce(sgx, l.x, ${SG(sub).args}, false) / f32(n);
  if (!valid) { return; }
  for (var i = l.x; i < n; i += 256u) {
    let g = DY[dyo + i] * Wt[pu(3u) + i];
    let xh = (X[xo + i] - mu) * rs;
    DX[pu(7u) + r * n + i] += rs * (g - mg - xh * mgx);
  }
}`;

/**
 * params: rows, n, offX, offMean, offRstd, offDY, offDW, offDB | one invocation per column i, the rows summed in
 * order: DW[i] += sum_r DY[r, i] (X[r, i] - Mean[r]) Rstd[r], DB[i] += sum_r DY[r, i] (a variant per pair wanted).
 */
export const LAYER_NORM_BACKWARD_W = (dw: boolean, db: boolean): string => HEADER + FLAT + storage([['X', 'f32', false], ['Mean', 'f32', false], ['Rstd', 'f32', false], ['DY', 'f32', false],
  ...(dw ? [['DW', 'f32', true] as ['DW', 'f32', true]] : []), ...(db ? [['DB', 'f32', true] as ['DB', 'f32', true]] : [])]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 64u, l);
  let n = pu(1u);
  if (i >= n) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < pu(0u); r++) {
    let d = DY[pu(5u) + r * n + i];
    sw += d * (X[pu(2u) + r * n + i] - Mean[pu(3u) + r]) * Rstd[pu(4u) + r];
    sb += d;
  }
  ${dw ? 'DW[pu(6u) + i] += sw;' : '_ = sw;'}
  ${db ? 'DB[pu(7u) + i] += sb;' : '_ = sb;'}
}`;
