// WGSL kernels of the fill-copy family (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

const MAIN = `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, nw, 256u, l);`;

/** params: n, offX, value | X[i] = value */
export const FILL = HEADER + FLAT + storage([['X', 'f32', true]]) + `${MAIN}
  if (i < pu(0u)) { X[pu(1u) + i] = pf(2u); }
}`;

/** params: n, offX, s | X[i] *= s */
export const SCALE = HEADER + FLAT + storage([['X', 'f32', true]]) + `${MAIN}
  if (i < pu(0u)) { X[pu(1u) + i] *= pf(2u); }
}`;

/** params: n, offA, offB | A[i] *= B[i] */
export const MUL = HEADER + FLAT + storage([['A', 'f32', true], ['B', 'f32', false]]) + `${MAIN}
  if (i < pu(0u)) { A[pu(1u) + i] *= B[pu(2u) + i]; }
}`;

/** params: rows, cols, sw, sc, dw, dc, offS, offD, accumulate | D[r, dc + j] (+)= S[r, sc + j] */
export const COPY_COLUMNS = HEADER + FLAT + storage([['S', 'f32', false], ['D', 'f32', true]]) + `${MAIN}
  let cols = pu(1u);
  if (i >= pu(0u) * cols) { return; }
  let r = i / cols; let j = i % cols;
  let d = pu(7u) + r * pu(4u) + pu(5u) + j;
  D[d] = select(0.0, D[d], pu(8u) != 0u) + S[pu(6u) + r * pu(2u) + pu(3u) + j];
}`;

/** params: n, offX, offOut, accumulate | one workgroup: O[0] (+)= sum X[i]^2 */
export const SUM_SQUARES = HEADER + storage([['X', 'f32', false], ['O', 'f32', true]]) + `
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) l: vec3<u32>) {
  var s = 0.0;
  for (var i = l.x; i < pu(0u); i += 256u) { let v = X[pu(1u) + i]; s += v * v; }
  red[l.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (l.x < k) { red[l.x] += red[l.x + k]; }
    workgroupBarrier();
  }
  if (l.x == 0u) { O[pu(2u)] = select(0.0, O[pu(2u)], pu(3u) != 0u) + red[0]; }
}`;
