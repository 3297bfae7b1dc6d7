/** rmsnorm: out[r] = w * x[r] / sqrt(mean(x[r]^2) + eps) for every row of x (LLaMA's RMSNorm, float32 accumulation). */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { RMSNORM } from './wgsl.js';
import { RMS_NORM_BACKWARD } from '../rmsnorm-backward/index.js';

export interface RmsnormArgs { x: Tensor; w: Tensor; eps: number; out: Tensor }

export const RMS_NORM = defineOp<RmsnormArgs>({
  name: 'rmsnorm',
  check({ x, w, out }) {
    requireF32('rmsnorm', x, w, out);
    if (lastDim(x) !== w.size || out.size !== x.size) opError('rmsnorm', `x[${x.shape}] w[${w.shape}] out[${out.shape}] do not fit`);
  },
  cpu(k, { x, w, eps, out }) {
    const n = w.size;
    k.call('rmsnorm', [k.ptr(x), k.ptr(w), k.ptr(out), x.size / n, n, eps], 3 * x.size);
  },
  webgpu(k, { x, w, eps, out }) {
    const n = w.size, rows = x.size / n, sg = k.subgroups ? '_sg' : '';
    k.dispatch(`rmsnorm${sg}`, () => RMSNORM(!!sg), [x, w, out], [rows, n, { f: eps }, x.offset, w.offset, out.offset], rows);
  },
  grad(r, { x, w, eps, out }, grad) {
    const dy = grad(out), dx = grad(x), dw = grad(w);
    if (dy && (dx || dw)) r.run(RMS_NORM_BACKWARD, { x, w, eps, dy, dx, dw });
  },
});
