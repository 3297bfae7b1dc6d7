/** Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): scale every gradient by max/(norm + 1e-6) when norm > max. */
import type { Backend } from '../backend/backend.js';
import { SCALE, SUM_SQUARES } from '../kernels/index.js';
import { run } from '../ops/index.js';
import type { Param } from '../autograd/param.js';

/** Returns the global L2 norm of the gradients before clipping. */
export async function clipGradNorm(be: Backend, params: Param[], maxNorm: number): Promise<number> {
  const withGrad = params.filter((p) => p.grad);
  if (withGrad.length === 0) return 0;
  const acc = be.alloc([1]);
  withGrad.forEach((p, i) => run(be, SUM_SQUARES, { x: p.grad!, out: acc, accumulate: i > 0 }));
  const norm = Math.sqrt((await be.read(acc))[0]!);
  be.free(acc);
  if (norm > maxNorm) for (const p of withGrad) run(be, SCALE, { x: p.grad!, s: maxNorm / (norm + 1e-6) });
  return norm;
}
