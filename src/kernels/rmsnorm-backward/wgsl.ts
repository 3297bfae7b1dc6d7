// WGSL kernels of the rmsnorm_backward op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/**
 * params: rows, n, eps, offX, offW, offDY, offDX, offInv | one workgroup per row: inv = 1 / sqrt(mean(x^2) + eps),
 * Inv[r] = inv (for the weight's gradient) and, with `dx`, DX += inv w dy - x inv^3 sum(w dy x) / n. The two sums
 * are reduced together as a vec2 in one tree.
 */
export const RMSNORM_BACKWARD_X = (dx: boolean): string => HEADER +
  storage([['X', 'f32', false], ['Wt', 'f32', false], ['DY', 'f32', false], ['Inv', 'f32', true], ...(dx ? [['DX', 'f32', true] as ['DX', 'f32', true]] : [])]) + `
var<workgroup> red: array<vec2<f32>, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let r = w.x + w.y * nw.x;
  let n = pu(1u);
  let valid = r < pu(0u);
  let xo = pu(3u) + r * n;
  let dyo = pu(5u) + r * n;
  var s = vec2<f32>(0.0, 0.0);
  if (valid) {
    for (var i = l.x; i < n; i += 256u) { let v = X[xo + i]; s += vec2<f32>(v * v, Wt[pu(4u) + i] * DY[dyo + i] * v); }
  }
  red[l.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l.x < k) { red[l.x] = red[l.x] + red[l.x + k]; }
    workgroupBarrier();
  }
  let tot = red[0];
  let inv = 1.0 / sqrt(tot.x / f32(n) + pf(2u));
  let c = tot.y * inv * inv * inv / f32(n);
  if (!valid) { return; }
  if (l.x == 0u) { Inv[pu(7u) + r] = inv; }
  ${dx ? 'for (var i = l.x; i < n; i += 256u) { DX[pu(6u) + r * n + i] += inv * Wt[pu(4u) + i] * DY[dyo + i] - X[xo + i] * c; }' : ''}
}`;

/** params: rows, n, offX, offDY, offInv, offDW | one invocation per column i: DW[i] += sum_r DY[r, i] X[r, i] Inv[r] (rows in order) */
export const RMSNORM_BACKWARD_W = HEADER + FLAT + storage([['X', 'f32', false], ['DY', 'f32', false], ['Inv', 'f32', false], ['DW', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 64u, l);
  let n = pu(1u);
  if (i >= n) { return; }
  var s = 0.0;
  for (var r = 0u; r < pu(0u); r++) { s += DY[pu(3u) + r * n + i] * X[pu(2u) + r * n + i] * Inv[pu(4u) + r]; }
  DW[pu(5u) + i] += s;
}`;
