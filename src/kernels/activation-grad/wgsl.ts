// WGSL kernels of the activation gradients (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage, REDUCE, SG, ROW_MAIN } from '../common/wgsl.js';

/** params: n, offX, offDY, offDX | DX[i] += X[i] > 0 ? DY[i] : 0 */
export const RELU_BACKWARD = HEADER + FLAT + storage([['X', 'f32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  if (X[pu(1u) + i] > 0.0) { DX[pu(3u) + i] += DY[pu(2u) + i]; }
}`;

/**
 * params: n, offG, offU, offDY, offDG, offDU, overwrite | s = sigmoid(G[i]): DG[i] += DY[i] U[i] s (1 + G[i] (1 - s)),
 * DU[i] += DY[i] G[i] s (a variant per pair of gradients wanted; overwrite bit 1 / 2 makes DG / DU = instead of +=)
 */
export const SILU_MUL_BACKWARD = (dg: boolean, du: boolean): string => HEADER + FLAT + storage([['G', 'f32', false], ['U', 'f32', false], ['DY', 'f32', false],
  ...(dg ? [['DG', 'f32', true] as ['DG', 'f32', true]] : []), ...(du ? [['DU', 'f32', true] as ['DU', 'f32', true]] : [])]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let g = G[pu(1u) + i];
  let dy = DY[pu(3u) + i];
  let s = 1.0 / (1.0 + exp(-g));
  _ = U[pu(2u) + i]; // bound in every variant (the layout is derived from the bindings used)
  ${dg ? 'let dgv = dy * U[pu(2u) + i] * s * (1.0 + g * (1.0 - s)); if ((pu(6u) & 1u) != 0u) { DG[pu(4u) + i] = dgv; } else { DG[pu(4u) + i] += dgv; }' : ''}
  ${du ? 'let duv = dy * g * s; if ((pu(6u) & 2u) != 0u) { DU[pu(5u) + i] = duv; } else { DU[pu(5u) + i] += duv; }' : ''}
}`;

/**
 * tanh(sqrt(2/pi) (v + 0.044715 v^3)), GELU's tanh form as the CPU kernel computes it. The argument is clamped to
 * [-10, 10] (tanh(10) rounds to 1 in f32) so that a tanh built from exp(2u) cannot give inf/inf = NaN for large |v|.
 */
const GELU_T = /* wgsl */ `
const GELU_C = 0.7978845608028654;
const GELU_A = 0.044715;
fn geluT(v: f32) -> f32 { return tanh(clamp(GELU_C * (v + GELU_A * v * v * v), -10.0, 10.0)); }
`;

/** params: n, offX, offOut | O[i] = 0.5 X[i] (1 + tanh(sqrt(2/pi) (X[i] + 0.044715 X[i]^3))) */
export const GELU = HEADER + FLAT + GELU_T + storage([['X', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let v = X[pu(1u) + i];
  O[pu(2u) + i] = 0.5 * v * (1.0 + geluT(v));
}`;

/** params: n, offX, offDY, offDX | t = geluT(x): DX[i] += (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)) DY[i] */
export const GELU_BACKWARD = HEADER + FLAT + GELU_T + storage([['X', 'f32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);
  if (i >= pu(0u)) { return; }
  let v = X[pu(1u) + i];
  let t = geluT(v);
  let d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * v * v);
  DX[pu(3u) + i] += d * DY[pu(2u) + i];
}`;

/**
 * The two backward row kernels of softmax / log-softmax, one workgroup per row of n (log-softmax itself is the
 * softmax op's row kernel, mode 2). params: rows, n, offY, offDY, offDX.
 * softmax_backward: DX += Y (DY - sum(DY Y)).
 * log_softmax_backward: DX += DY - exp(Y) sum(DY).
 */
export const ROWS_BACKWARD = (sub: boolean, log: boolean): string => SG(sub).enable + HEADER + storage([['Y', 'f32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + REDUCE(sub) + `
${ROW_MAIN(sub)}
  let n = pu(1u);
  let yo = pu(2u) + r * n;
  let dyo = pu(3u) + r * n;
  let dxo = pu(4u) + r * n;
  var s = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { s += ${log ? 'DY[dyo + i]' : 'Y[yo + i] * DY[dyo + i]'}; } }
  let tot = wgReduce(s, l.x, ${SG(sub).args}, false);
  if (!valid) { return; }
  for (var i = l.x; i < n; i += 256u) { DX[dxo + i] += ${log ? 'DY[dyo + i] - exp(Y[yo + i]) * tot' : 'Y[yo + i] * (DY[dyo + i] - tot)'}; }
}`;
