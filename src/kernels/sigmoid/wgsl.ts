// WGSL kernels of sigmoid and its gradient (one invocation per element), as assembly.ts.
import { HEADER, FLAT, storage } from '../common/wgsl.js';

const MAIN = '@compute @workgroup_size(256)\nfn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {\n  let i = flat(w, nw, 256u, l);\n  if (i >= pu(0u)) { return; }\n';

/** params: n, offX, offOut */
export const SIGMOID = HEADER + FLAT + storage([['X', 'f32', false], ['O', 'f32', true]]) + MAIN + `
  let v = X[pu(1u) + i];
  let e = exp(-abs(v));
  O[pu(2u) + i] = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}`;

/** params: n, offY, offDy, offDx */
export const SIGMOID_BACKWARD = HEADER + FLAT + storage([['Y', 'f32', false], ['DY', 'f32', false], ['DX', 'f32', true]]) + MAIN + `
  let v = Y[pu(1u) + i];
  DX[pu(3u) + i] += DY[pu(2u) + i] * v * (1.0 - v);
}`;
