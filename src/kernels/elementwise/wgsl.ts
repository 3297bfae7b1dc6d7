// WGSL kernels of the add op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/**
 * params: n, offA, offB, offOut | add: A[i] += B[i]; silu_mul: O[i] = silu(A[i]) B[i], or in place into A or B (WebGPU
 * cannot bind one buffer as both an input and the output, and the model computes silu(gate) * up into gate).
 */
export const ELEMENTWISE = (op: 'add' | 'silu_mul' | 'silu_mul_a' | 'silu_mul_b'): string => {
  const rw = (name: string) => (op === 'add' || op === 'silu_mul_a' ? name === 'A' : op === 'silu_mul_b' ? name === 'B' : false);
  const bindings: [string, 'f32', boolean][] = [['A', 'f32', rw('A')], ['B', 'f32', rw('B')]];
  if (op === 'silu_mul') bindings.push(['O', 'f32', true]);
  const target = op === 'silu_mul_a' ? 'A[pu(1u) + i]' : op === 'silu_mul_b' ? 'B[pu(2u) + i]' : 'O[pu(3u) + i]';
  return HEADER + FLAT + storage(bindings) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  if (i >= pu(0u)) { return; }
  let a = A[pu(1u) + i];
  let b = B[pu(2u) + i];
  ${op === 'add' ? 'A[pu(1u) + i] = a + b;' : `${target} = a / (1.0 + exp(-a)) * b;`}
}`;
};
