// WGSL kernels of the rmsnorm op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage, REDUCE, SG, ROW_MAIN } from '../common/wgsl.js';

/** params: rows, n, eps, offX, offW, offOut | one workgroup per row */
export const RMSNORM = (sub: boolean): string => SG(sub).enable + HEADER + storage([['X', 'f32', false], ['Wt', 'f32', false], ['O', 'f32', true]]) + REDUCE(sub) + `
${ROW_MAIN(sub)}
  let n = pu(1u);
  let xo = pu(3u) + r * n;
  var s = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { let v = X[xo + i]; s += v * v; } }
  let inv = 1.0 / sqrt(wgReduce(s, l.x, ${SG(sub).args}, false) / f32(n) + pf(2u));
  if (valid) { for (var i = l.x; i < n; i += 256u) { O[pu(5u) + r * n + i] = Wt[pu(4u) + i] * (X[xo + i] * inv); } }
}`;
