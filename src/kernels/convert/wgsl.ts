// WGSL kernels of the convert op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/**
 * params: n, off, mode (0 f16, 1 bf16) | in place rounding to f16 / bf16, ties to even. f16 by exact scaling to its
 * unit in the last place and round() (ties to even): pack2x16float's rounding is implementation-defined (Mesa's
 * lavapipe truncates).
 */
export const ROUND_TO = HEADER + FLAT + storage([['X', 'f32', true]]) + `
fn roundF16(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u || a == 0u) { return x; }
  let e = i32(a >> 23u) - 127;
  let q = max(e, -14) - 10;
  let r = ldexp(round(ldexp(bitcast<f32>(a), -q)), q);
  let bits = select(bitcast<u32>(r), 0x7f800000u, e >= 16 || r > 65504.0); // past the largest f16: infinity
  return bitcast<f32>((u & 0x80000000u) | bits);
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  if (i >= pu(0u)) { return; }
  let x = X[pu(1u) + i];
  if (pu(2u) == 0u) {
    X[pu(1u) + i] = roundF16(x);
  } else {
    let u = bitcast<u32>(x);
    if ((u & 0x7f800000u) == 0x7f800000u) { return; }
    X[pu(1u) + i] = bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);
  }
}`;

/** params: n, srcOffWords(unused: 0), dstOff, kind (0 f16, 1 bf16) | 16-bit values packed two per u32 word -> f32 */
export const TO_F32 = HEADER + FLAT + storage([['S', 'u32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  if (i >= pu(0u)) { return; }
  let e = pu(1u) + i;
  let word = S[e / 2u];
  let half = select(word & 0xffffu, word >> 16u, (e & 1u) == 1u);
  var v: f32;
  if (pu(3u) == 0u) { v = unpack2x16float(half).x; } else { v = bitcast<f32>(half << 16u); }
  O[pu(2u) + i] = v;
}`;
