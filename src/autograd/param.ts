/**
 * Parameters and buffers of a trainable model. A parameter holds its value, its accumulated gradient (allocated on
 * the first backward, kept across backward calls until zeroed: gradient accumulation), `requiresGrad` (false =
 * frozen) and gradient hooks run after each backward (a pruning mask, a gradient scale). A buffer (batch-norm running
 * statistics, a mask) is state that is saved and loaded but never differentiated or updated by an optimizer.
 */
import type { Backend } from '../backend/backend.js';
import { FILL, MUL } from '../kernels/index.js';
import { run } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

/** Runs on a parameter's gradient after backward (in place). */
export type GradHook = (be: Backend, grad: Tensor, p: Param) => void;

const owners = new WeakMap<Tensor, Param>();

export class Param {
  grad: Tensor | null = null;
  readonly hooks: GradHook[] = [];
  private value_: Tensor;

  constructor(
    readonly name: string,
    value: Tensor,
    readonly kind: 'parameter' | 'buffer' = 'parameter',
    public requiresGrad = kind === 'parameter',
  ) {
    this.value_ = value;
    owners.set(value, this);
  }

  get value(): Tensor {
    return this.value_;
  }

  /** Replace the tensor (a loaded checkpoint); the old one is the caller's to free. */
  set value(t: Tensor) {
    owners.delete(this.value_);
    this.value_ = t;
    owners.set(t, this);
  }

  /** the parameter whose value this tensor is, if any */
  static of(t: Tensor): Param | undefined {
    return owners.get(t);
  }

  /** the gradient accumulator (zeroed when first made) */
  gradOn(be: Backend): Tensor {
    if (!this.grad) {
      this.grad = be.alloc(this.value.shape);
      run(be, FILL, { x: this.grad, value: 0 });
    }
    return this.grad;
  }

  zeroGrad(be: Backend): void {
    if (this.grad) run(be, FILL, { x: this.grad, value: 0 });
  }

  /** Frees the gradient (a frozen parameter keeps none). */
  dropGrad(be: Backend): void {
    if (this.grad) be.free(this.grad);
    this.grad = null;
  }
}

/**
 * A gradient hook that multiplies the gradient by a 0/1 mask of the parameter's shape (a pruned weight stays pruned
 * under any optimizer whose update of a zero gradient is zero: SGD without weight decay, AdamW from zero moments;
 * `applyMask` re-zeroes the weights themselves after a step for the others).
 */
export function maskGradient(mask: Tensor): GradHook {
  return (be, grad) => run(be, MUL, { a: grad, b: mask });
}

/** value *= mask (after an optimizer step, so weight decay cannot revive pruned weights either) */
export function applyMask(be: Backend, p: Param, mask: Tensor): void {
  run(be, MUL, { a: p.value, b: mask });
}
