// WGSL kernels of the softmax op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage, REDUCE, SG, ROW_MAIN } from '../common/wgsl.js';

/**
 * params: rows, n, offX, offOut, mode (0 softmax in place on X, 1 logsumexp -> O, 2 log-softmax X - logsumexp -> O
 * rows) | one workgroup per row
 */
export const ROW_SOFTMAX = (sub: boolean): string => SG(sub).enable + HEADER + storage([['X', 'f32', true], ['O', 'f32', true]]) + REDUCE(sub) + `
${ROW_MAIN(sub)}
  let n = pu(1u);
  let xo = pu(2u) + r * n;
  var m = -3.0e38;
  if (valid) { for (var i = l.x; i < n; i += 256u) { m = max(m, X[xo + i]); } }
  let mx = wgReduce(m, l.x, ${SG(sub).args}, true);
  var s = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { s += exp(X[xo + i] - mx); } }
  let z = wgReduce(s, l.x, ${SG(sub).args}, false);
  if (!valid) { return; }
  if (pu(4u) == 1u) {
    if (l.x == 0u) { O[pu(3u) + r] = mx + log(z); }
  } else if (pu(4u) == 2u) {
    let lse = mx + log(z);
    for (var i = l.x; i < n; i += 256u) { O[pu(3u) + r * n + i] = X[xo + i] - lse; }
  } else {
    for (var i = l.x; i < n; i += 256u) { X[xo + i] = exp(X[xo + i] - mx) / z; }
  }
}`;
