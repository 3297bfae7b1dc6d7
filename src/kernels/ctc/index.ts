/**
 * ctc_loss: the connectionist temporal classification loss of logits x [T, B, C] (a log-softmax is taken per frame)
 * against padded targets [B, maxLen] (i32, without blanks) with their lengths and the inputs' lengths (i32 [B]):
 * loss = mean over items of -log p(target | x) / max(1, target length), PyTorch's reduction 'mean'. Recursions in log
 * space, float64 on the CPU; float32 on WebGPU (WGSL has no float64), where -1e30 stands for log 0, so an alignment
 * that cannot exist gives a loss near 1e30 / length instead of +inf. Its gradient (ctc_loss_backward, accumulated into dx) recomputes alpha and beta. Lengths must fit:
 * inputLengths[b] <= T, targetLengths[b] <= maxLen, and enough frames for the labels (the data code checks).
 */
import { defineOp, opError, requireF32, type GpuKernels } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CTC } from './wgsl.js';
import { SUM_SCALED } from '../losses/wgsl.js';

export interface CtcLossArgs { x: Tensor; targets: Tensor; targetLengths: Tensor; inputLengths: Tensor; blank: number; loss: Tensor }
export interface CtcLossBackwardArgs { x: Tensor; targets: Tensor; targetLengths: Tensor; inputLengths: Tensor; blank: number; dy: Tensor; dx: Tensor }

function dims(op: string, a: { x: Tensor; targets: Tensor; targetLengths: Tensor; inputLengths: Tensor; blank: number }): [number, number, number, number] {
  if (a.x.shape.length !== 3) opError(op, `x must be [T, B, C], got [${a.x.shape}]`);
  const [T, B, C] = a.x.shape as [number, number, number];
  if ([a.targets, a.targetLengths, a.inputLengths].some((t) => t.dtype !== 'i32') || a.targets.shape.length !== 2 || a.targets.shape[0] !== B || a.targetLengths.size !== B || a.inputLengths.size !== B) {
    opError(op, `targets [B, maxLen] and both lengths [B] must be i32 for B = ${B}`);
  }
  if (!Number.isInteger(a.blank) || a.blank < 0 || a.blank >= C) opError(op, `blank ${a.blank} is not a class of ${C}`);
  return [T, B, C, a.targets.shape[1]!];
}

function run(k: Parameters<NonNullable<typeof CTC_LOSS.cpu>>[0], a: CtcLossArgs | CtcLossBackwardArgs, nll: Tensor, dx: Tensor | null, dy: Tensor | null): void {
  const [T, B, C, maxLen] = dims('ctc_loss', a);
  const work = k.scratch('ctc_work', 2 * k.threads * (T * C + 2 * T * (2 * maxLen + 1)));
  k.call('ctc_loss', [k.ptr(a.x), k.ptr(a.targets), k.ptr(a.targetLengths), k.ptr(a.inputLengths), T, B, C, a.blank, maxLen, k.ptr(work), k.ptr(nll),
    dx ? k.ptr(dx) : 0, dy ? k.ptr(dy) : 0, 1 / B], B >= 2 ? 1 << 20 : 0);
}

/** WebGPU: one workgroup per item (float32 recursions); nll[b] = -log p / max(1, L), and with dx its gradient added */
function runGpu(k: GpuKernels, a: CtcLossArgs | CtcLossBackwardArgs, nll: Tensor, dx: Tensor | null, dy: Tensor | null): void {
  const [T, B, C, maxLen] = dims('ctc_loss', a);
  const work = k.scratch('ctc_work', B * (T * C + 2 * T * (2 * maxLen + 1)));
  k.dispatch(`ctc_loss${dx ? '_backward' : ''}`, () => CTC(!!dx), [a.x, a.targets, a.targetLengths, a.inputLengths, work, nll, ...(dx && dy ? [dy, dx] : [])],
    [a.x.offset, a.targets.offset, a.targetLengths.offset, a.inputLengths.offset, T, B, C, a.blank, maxLen, work.offset, nll.offset, dy?.offset ?? 0, dx?.offset ?? 0, { f: 1 / B }], B);
}

export const CTC_LOSS_BACKWARD = defineOp<CtcLossBackwardArgs>({
  name: 'ctc_loss_backward',
  check(a) {
    requireF32('ctc_loss_backward', a.x, a.dy, a.dx);
    dims('ctc_loss_backward', a);
    if (a.dx.size !== a.x.size || a.dy.size !== 1) opError('ctc_loss_backward', 'dx must match x and dy hold one float');
  },
  cpu(k, a) { run(k, a, k.scratch('ctc_nll', a.x.shape[1]!), a.dx, a.dy); },
  webgpu(k, a) { runGpu(k, a, k.scratch('ctc_nll', a.x.shape[1]!), a.dx, a.dy); },
});

export const CTC_LOSS = defineOp<CtcLossArgs>({
  name: 'ctc_loss',
  check(a) {
    requireF32('ctc_loss', a.x, a.loss);
    dims('ctc_loss', a);
    if (a.loss.size !== 1) opError('ctc_loss', `loss must hold one float, got [${a.loss.shape}]`);
  },
  cpu(k, a) {
    const B = a.x.shape[1]!, nll = k.scratch('ctc_nll', B);
    run(k, a, nll, null, null);
    k.call('sum_scaled', [k.ptr(nll), B, 1 / B, k.ptr(a.loss)], 0);
  },
  webgpu(k, a) {
    const B = a.x.shape[1]!, nll = k.scratch('ctc_nll', B);
    runGpu(k, a, nll, null, null);
    k.dispatch('sum_scaled', () => SUM_SCALED, [nll, a.loss], [B, { f: 1 / B }, nll.offset, a.loss.offset], 1);
  },
  grad(r, { x, targets, targetLengths, inputLengths, blank, loss }, grad) {
    const dy = grad(loss), dx = grad(x);
    if (dy && dx) r.run(CTC_LOSS_BACKWARD, { x, targets, targetLengths, inputLengths, blank, dy, dx });
  },
});
