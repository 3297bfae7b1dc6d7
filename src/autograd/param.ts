/**
 * Parameters and buffers of a trainable model. A parameter holds its value, its accumulated gradient (allocated on
 * the first backward, kept across backward calls until zeroed: gradient accumulation), `requiresGrad` (false =
 * frozen) and gradient hooks run after each backward (a pruning mask, a gradient scale). A buffer (batch-norm running
 * statistics, a mask) is state that is saved and loaded but never differentiated or updated by an optimizer.
 * Zeroing is lazy: a zeroed (or new) gradient is only marked blank; the first op of the next backward that writes
 * it whole (a GEMM through `gradInto`) overwrites it, and any other reader (`grad`, `gradOn`) gets it zero-filled.
 */
import type { Backend } from '../backend/backend.js';
import { FILL, MUL } from '../kernels/index.js';
import { run } from '../ops/index.js';
import type { GradTarget } from '../kernels/op.js';
import type { Tensor } from '../tensor/tensor.js';

/** Runs on a parameter's gradient after backward (in place). */
export type GradHook = (be: Backend, grad: Tensor, p: Param) => void;

const owners = new WeakMap<Tensor, Param>();

export class Param {
  readonly hooks: GradHook[] = [];
  private value_: Tensor;
  private grad_: Tensor | null = null;
  /** set while the gradient is logically zero but not filled: the backend to fill it on */
  private blankOn: Backend | null = null;

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

  /** the accumulated gradient (null before the first backward or after dropGrad) */
  get grad(): Tensor | null {
    if (this.blankOn) {
      run(this.blankOn, FILL, { x: this.grad_!, value: 0 });
      this.blankOn = null;
    }
    return this.grad_;
  }

  set grad(t: Tensor | null) {
    this.grad_ = t;
    this.blankOn = null;
  }

  /** the gradient accumulator, zero-filled when new or zeroed */
  gradOn(be: Backend): Tensor {
    const { g, accumulate } = this.gradInto(be);
    if (!accumulate) run(be, FILL, { x: g, value: 0 });
    return g;
  }

  /** the gradient accumulator for an op that writes all of it: accumulate false (overwrite) when new or zeroed */
  gradInto(be: Backend): GradTarget {
    if (!this.grad_) this.grad_ = be.alloc(this.value.shape);
    else if (!this.blankOn) return { g: this.grad_, accumulate: true };
    this.blankOn = null;
    return { g: this.grad_, accumulate: false };
  }

  zeroGrad(be: Backend): void {
    if (this.grad_) this.blankOn = be;
  }

  /** Frees the gradient (a frozen parameter keeps none). */
  dropGrad(be: Backend): void {
    if (this.grad_) be.free(this.grad_);
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
