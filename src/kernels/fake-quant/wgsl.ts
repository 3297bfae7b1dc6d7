// WGSL kernels of the fake-quant op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: groups, group, bits, asym, clip, off | QuaRot's dynamic fake quantization, one thread per group (twin: fakeQuantRef) */
export const FAKE_QUANT = HEADER + FLAT + storage([['X', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let g = flat(w, n, 64u, l);
  if (g >= pu(0u)) { return; }
  let G = pu(1u); let o = pu(5u) + g * G;
  var lo = 0.0; var hi = 0.0;
  for (var i = 0u; i < G; i++) { lo = min(lo, X[o + i]); hi = max(hi, X[o + i]); }
  lo *= pf(4u); hi *= pf(4u);
  var scale: f32; var zero = 0.0; var qmin: f32; var qmax: f32;
  if (pu(3u) == 1u) {
    if (lo == 0.0 && hi == 0.0) { lo = -1.0; hi = 1.0; }
    qmax = f32((1u << pu(2u)) - 1u); qmin = 0.0;
    scale = (hi - lo) / qmax;
    zero = round(-lo / scale);
  } else {
    qmax = f32((1u << (pu(2u) - 1u)) - 1u); qmin = -qmax - 1.0;
    let m = max(abs(lo), hi);
    scale = select(m / qmax, 1.0, m == 0.0);
  }
  for (var i = 0u; i < G; i++) {
    let q = clamp(round(X[o + i] / scale) + zero, qmin, qmax);
    X[o + i] = scale * (q - zero);
  }
}`;
