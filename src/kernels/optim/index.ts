/**
 * Optimizer steps in place on a parameter and its state (PyTorch's torch.optim.AdamW and SGD formulas, so a run
 * follows the same trajectory up to float32 rounding). adamw_step takes the step's bias corrections from the caller
 * (src/train/optimizers.ts), which counts steps.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as W from './wgsl.js';

export interface AdamWStepArgs {
  p: Tensor; g: Tensor; m: Tensor; v: Tensor;
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** 1-based step count after this update */
  step: number;
}

function sameSizes(op: string, ts: Tensor[]): void {
  requireF32(op, ...ts);
  if (ts.some((t) => t.size !== ts[0]!.size)) opError(op, `parameter and state sizes differ: ${ts.map((t) => `[${t.shape}]`).join(' ')}`);
}

/** the step's scalars, computed in float64 and rounded once by the kernel (PyTorch's order) */
const adamScalars = (a: AdamWStepArgs) => {
  const bc1 = 1 - a.beta1 ** a.step, bc2 = 1 - a.beta2 ** a.step;
  return { decay: 1 - a.lr * a.weightDecay, omb1: 1 - a.beta1, omb2: 1 - a.beta2, stepSize: a.lr / bc1, bc2sqrt: Math.sqrt(bc2) };
};

export const ADAMW_STEP = defineOp<AdamWStepArgs>({
  name: 'adamw_step',
  check(a) {
    sameSizes('adamw_step', [a.p, a.g, a.m, a.v]);
    if (!(a.step >= 1)) opError('adamw_step', `step must be >= 1, got ${a.step}`);
  },
  cpu(k, a) {
    const { decay, omb1, omb2, stepSize, bc2sqrt } = adamScalars(a);
    k.call('adamw_step', [k.ptr(a.p), k.ptr(a.g), k.ptr(a.m), k.ptr(a.v), a.p.size, decay, omb1, a.beta2, omb2, a.eps, stepSize, bc2sqrt], 12 * a.p.size);
  },
  webgpu(k, a) {
    const { decay, omb1, omb2, stepSize, bc2sqrt } = adamScalars(a);
    k.dispatch('adamw', () => W.ADAMW, [a.p, a.g, a.m, a.v], [a.p.size, a.p.offset, a.g.offset, a.m.offset, a.v.offset,
      { f: decay }, { f: omb1 }, { f: a.beta2 }, { f: omb2 }, { f: a.eps }, { f: stepSize }, { f: bc2sqrt }], Math.ceil(a.p.size / 256));
  },
});

export interface SgdStepArgs {
  p: Tensor; g: Tensor;
  /** the momentum buffer (ignored when momentum is 0) */
  buf: Tensor;
  lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean;
  /** the first step: the buffer starts as the gradient (PyTorch) */
  first: boolean;
}

export const SGD_STEP = defineOp<SgdStepArgs>({
  name: 'sgd_step',
  check(a) { sameSizes('sgd_step', [a.p, a.g, a.buf]); },
  cpu(k, a) {
    k.call('sgd_step', [k.ptr(a.p), k.ptr(a.g), k.ptr(a.buf), a.p.size, a.lr, a.momentum, a.dampening, a.weightDecay, a.nesterov ? 1 : 0, a.first ? 1 : 0], 6 * a.p.size);
  },
  webgpu(k, a) {
    k.dispatch('sgd', () => W.SGD, [a.p, a.g, a.buf], [a.p.size, a.p.offset, a.g.offset, a.buf.offset, { f: a.lr }, { f: a.momentum }, { f: a.dampening },
      { f: a.weightDecay }, a.nesterov ? 1 : 0, a.first ? 1 : 0], Math.ceil(a.p.size / 256));
  },
});
