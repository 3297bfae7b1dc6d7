/**
 * Optimizers over parameters (autograd/param.ts), with PyTorch's semantics (torch.optim.SGD and AdamW: the same
 * defaults, update order and state names), run as kernels on the parameters' backend (kernels/optim). The state
 * is a list of named tensors plus the step count, which checkpoints save (train/checkpoint.ts).
 */
import type { Backend } from '../backend/backend.js';
import { ADAMW_STEP, FILL, SGD_STEP } from '../kernels/index.js';
import { run } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { OptionError } from '../util/errors.js';
import type { Param } from '../autograd/param.js';

export interface Optimizer {
  readonly kind: 'sgd' | 'adamw';
  /** updates taken so far */
  step: number;
  /** base learning rate; `update(lr)` may pass a scheduled one */
  readonly lr: number;
  update(lr?: number): void;
  zeroGrad(): void;
  /** state tensors by name (`<param>.exp_avg`, `<param>.exp_avg_sq`, `<param>.momentum_buffer`) */
  stateTensors(): Map<string, Tensor>;
  /** hyper-parameters, for the checkpoint */
  readonly hyper: Record<string, number | boolean>;
}

function zeros(be: Backend, like: Tensor): Tensor {
  const t = be.alloc(like.shape);
  run(be, FILL, { x: t, value: 0 });
  return t;
}

const trainable = (params: Param[]) => params.filter((p) => p.kind === 'parameter');

export interface AdamWOptions { lr?: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }

/** AdamW (Loshchilov and Hutter: weight decay decoupled from the gradient); PyTorch defaults. */
export class AdamW implements Optimizer {
  readonly kind = 'adamw';
  step = 0;
  readonly hyper: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };
  private readonly m = new Map<Param, Tensor>();
  private readonly v = new Map<Param, Tensor>();

  constructor(private readonly be: Backend, private readonly params: Param[], o: AdamWOptions = {}) {
    this.hyper = { lr: o.lr ?? 1e-3, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 1e-2 };
    if (!(this.hyper.lr > 0)) throw new OptionError('lr', `must be > 0, got ${this.hyper.lr}`);
    for (const p of trainable(params)) { this.m.set(p, zeros(be, p.value)); this.v.set(p, zeros(be, p.value)); }
  }

  get lr(): number {
    return this.hyper.lr;
  }

  update(lr = this.hyper.lr): void {
    this.step++;
    for (const p of trainable(this.params)) {
      if (!p.requiresGrad || !p.grad) continue;
      run(this.be, ADAMW_STEP, { p: p.value, g: p.grad, m: this.m.get(p)!, v: this.v.get(p)!, ...this.hyper, lr, step: this.step });
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad(this.be);
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const p of trainable(this.params)) { out.set(`${p.name}.exp_avg`, this.m.get(p)!); out.set(`${p.name}.exp_avg_sq`, this.v.get(p)!); }
    return out;
  }
}

export interface SgdOptions { lr?: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }

/** SGD with momentum (PyTorch: the buffer starts as the first gradient; optional dampening, Nesterov). */
export class SGD implements Optimizer {
  readonly kind = 'sgd';
  step = 0;
  readonly hyper: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };
  private readonly buf = new Map<Param, Tensor>();

  constructor(private readonly be: Backend, private readonly params: Param[], o: SgdOptions = {}) {
    this.hyper = { lr: o.lr ?? 1e-2, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false };
    if (!(this.hyper.lr > 0)) throw new OptionError('lr', `must be > 0, got ${this.hyper.lr}`);
    if (this.hyper.nesterov && (this.hyper.momentum <= 0 || this.hyper.dampening !== 0)) throw new OptionError('nesterov', 'needs momentum > 0 and no dampening');
    for (const p of trainable(params)) this.buf.set(p, zeros(be, p.value));
  }

  get lr(): number {
    return this.hyper.lr;
  }

  update(lr = this.hyper.lr): void {
    this.step++;
    for (const p of trainable(this.params)) {
      if (!p.requiresGrad || !p.grad) continue;
      run(this.be, SGD_STEP, { p: p.value, g: p.grad, buf: this.buf.get(p)!, ...this.hyper, lr, first: this.step === 1 });
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad(this.be);
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (this.hyper.momentum !== 0) for (const p of trainable(this.params)) out.set(`${p.name}.momentum_buffer`, this.buf.get(p)!);
    return out;
  }
}
