// WGSL kernels of the hadamard op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/** params: rows, n, K, pow2, scale, off | row . (H_K (x) H_pow2) / sqrt(n), one thread per row (twin: hadamardRowsRef) */
export const HADAMARD = HEADER + FLAT + storage([['X', 'f32', true], ['Hk', 'f32', false], ['Tmp', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let r = flat(w, nw, 64u, l);
  if (r >= pu(0u)) { return; }
  let n = pu(1u); let K = pu(2u); let p2 = pu(3u); let o = pu(5u) + r * n;
  for (var a = 0u; a < K; a++) {
    for (var h = 1u; h < p2; h <<= 1u) {
      for (var i = 0u; i < p2; i += 2u * h) {
        for (var j = i; j < i + h; j++) {
          let u = X[o + a * p2 + j]; let v = X[o + a * p2 + j + h];
          X[o + a * p2 + j] = u + v; X[o + a * p2 + j + h] = u - v;
        }
      }
    }
  }
  for (var c = 0u; c < K; c++) {
    for (var d = 0u; d < p2; d++) {
      var acc = 0.0;
      for (var a = 0u; a < K; a++) { acc += Hk[a * K + c] * X[o + a * p2 + d]; }
      Tmp[r * n + c * p2 + d] = acc;
    }
  }
  for (var i = 0u; i < n; i++) { X[o + i] = Tmp[r * n + i] * pf(4u); }
}`;
