/**
 * The tape: reverse-mode differentiation over Lithe's ops. A Tape is also the allocation scope of one forward pass:
 * `alloc` hands out tensors that `release()` frees together. While recording (the default; `noGrad` turns it off),
 * `op(OP, args, outputs)` runs the op and, when one of its input tensors needs a gradient (a parameter with
 * requiresGrad, or the output of a recorded op), records (op, args, outputs). `backward(loss)` walks the records
 * backwards and calls each op's gradient (its OpDef `grad` slot, kernels/<op>/index.ts; or the custom one it was
 * recorded with), whose `grad(t)` lookup returns the incoming gradient for an output and a zero-initialised
 * accumulator for an input that needs one (a parameter's accumulator is `Param.grad`, kept across backward calls);
 * `into(t)` returns the accumulator unfilled while nothing was written to it, for ops that overwrite it (GEMMs).
 * Ops must be recorded out of place: an op's inputs are still intact when its gradient runs.
 */
import type { Backend } from '../backend/backend.js';
import { FILL } from '../kernels/index.js';
import type { GradFn, GradTarget, OpDef, OpRunner } from '../kernels/op.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Param } from './param.js';

interface Entry {
  name: string;
  args: unknown;
  inputs: Tensor[];
  outputs: Tensor[];
  grad: GradFn<unknown>;
}

/** the Tensor-valued fields of an op's arguments (one level deep, and arrays of tensors) */
function tensorsOf(args: unknown): Tensor[] {
  const out: Tensor[] = [];
  for (const v of Object.values(args as Record<string, unknown>)) {
    if (v instanceof Tensor) out.push(v);
    else if (Array.isArray(v)) for (const e of v) if (e instanceof Tensor) out.push(e);
  }
  return out;
}

export class Tape implements OpRunner {
  private readonly entries: Entry[] = [];
  /** outputs of recorded ops (they need gradients) */
  private readonly tracked = new Set<Tensor>();
  private readonly owned = new Set<Tensor>();
  private recording: boolean;

  constructor(readonly be: Backend, options: { record?: boolean } = {}) {
    this.recording = options.record ?? true;
  }

  get isRecording(): boolean {
    return this.recording;
  }

  /** A tensor freed by `release()`. */
  alloc(shape: readonly number[], dtype?: DType): Tensor {
    const t = this.be.alloc(shape, dtype);
    this.owned.add(t);
    return t;
  }

  /** Frees a tensor of this tape now (a temporary of a gradient function). */
  free(t: Tensor): void {
    this.owned.delete(t);
    this.be.free(t);
  }

  /** A tensor holding `data` (freed by `release()`). */
  tensor(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    const t = this.alloc(shape, data instanceof Int32Array ? 'i32' : 'f32');
    this.be.write(t, data);
    return t;
  }

  /** Runs an op without recording (what gradient functions use). */
  run<A>(op: OpDef<A>, args: A): void {
    op.check(args);
    this.be.run(op, args);
  }

  /** This tensor gets a gradient in backward: a trainable parameter, or the output of a recorded op. */
  requiresGrad(t: Tensor): boolean {
    return this.tracked.has(t) || Param.of(t)?.requiresGrad === true;
  }

  /**
   * Runs the op, and records it when recording and one of its inputs requires a gradient. `outputs` are the tensors
   * the op writes; every other tensor in `args` is an input. `grad` replaces the op's own gradient function.
   */
  op<A>(op: OpDef<A>, args: A, outputs: Tensor[], grad?: GradFn<A>): void {
    this.run(op, args);
    this.record(op.name, args, outputs, grad ?? op.grad);
  }

  /**
   * Records a computation already done (composite forwards such as an out-of-place softmax): its gradient function
   * `grad` sees `args` as an op's gradient would.
   */
  record<A>(name: string, args: A, outputs: Tensor[], grad: GradFn<A> | undefined, force = false): void {
    if (!this.recording) return;
    const inputs = tensorsOf(args).filter((t) => !outputs.includes(t));
    if (!force && !inputs.some((t) => this.requiresGrad(t))) return;
    if (!grad) throw new Error(`${name} has no gradient: it cannot be recorded with inputs that need one (wrap the call in noGrad)`);
    this.entries.push({ name, args, inputs, outputs, grad: grad as GradFn<unknown> });
    for (const t of outputs) this.tracked.add(t);
  }

  /** Makes a tensor a leaf that gets a gradient (read it with backward's `keep`). */
  watch(t: Tensor): void {
    this.tracked.add(t);
  }

  /** Runs `fn` without recording (evaluation, updates of buffers). */
  noGrad<T>(fn: () => T): T {
    const was = this.recording;
    this.recording = false;
    try {
      return fn();
    } finally {
      this.recording = was;
    }
  }

  /**
   * Accumulates d(loss)/d(parameter) into every trainable parameter's `grad` that the loss depends on, then runs
   * their hooks. `seed` is d(objective)/d(loss) (default: ones, for a scalar loss). Frees the intermediate gradients
   * except those of `keep` (watched leaves), which it returns (the caller frees them).
   */
  backward(loss: Tensor, seed?: Tensor, keep: Tensor[] = []): Map<Tensor, Tensor> {
    if (!this.tracked.has(loss)) throw new Error('backward: the loss was not computed by ops recorded on this tape (or nothing it depends on needs a gradient)');
    const grads = new Map<Tensor, Tensor>();
    const target = (t: Tensor): GradTarget => {
      const p = Param.of(t);
      if (p) return p.gradInto(this.be);
      const g = grads.get(t);
      if (g) return { g, accumulate: true };
      const fresh = this.be.alloc(t.shape);
      grads.set(t, fresh);
      return { g: fresh, accumulate: false };
    };
    const accumulator = (t: Tensor): Tensor => {
      const { g, accumulate } = target(t);
      if (!accumulate) this.run(FILL, { x: g, value: 0 });
      return g;
    };
    if (seed) {
      if (seed.size !== loss.size) throw new Error(`backward: seed [${seed.shape}] does not match the loss [${loss.shape}]`);
      grads.set(loss, seed);
    } else {
      this.run(FILL, { x: accumulator(loss), value: 1 });
    }
    const touched = new Set<Param>();
    // an input's accumulator (zero-filled, or as a GradTarget); null when no gradient flows to it
    const lookup = <T>(t: Tensor, get: (t: Tensor) => T): T | null => {
      if (!this.requiresGrad(t)) return null;
      const p = Param.of(t);
      if (p) touched.add(p);
      return get(t);
    };
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (!e.outputs.some((t) => grads.has(t))) continue;
      e.grad(this, e.args, (t) => (e.outputs.includes(t) ? grads.get(t) ?? null : lookup(t, accumulator)), (t) => {
        if (e.outputs.includes(t)) throw new Error(`${e.name}: into() is for inputs, not the output's incoming gradient`);
        return lookup(t, target);
      });
      // every consumer of these outputs came later on the tape: their gradients are complete and spent
      for (const t of e.outputs) {
        const g = grads.get(t);
        if (g && g !== seed && !keep.includes(t)) { this.be.free(g); grads.delete(t); }
      }
    }
    const kept = new Map<Tensor, Tensor>();
    for (const [t, g] of grads) {
      if (keep.includes(t)) kept.set(t, g);
      else if (g !== seed) this.be.free(g);
    }
    for (const p of touched) for (const h of p.hooks) h(this.be, p.grad!, p);
    return kept;
  }

  /** Frees every tensor this tape allocated and forgets the records (call after backward and the optimizer step). */
  release(): void {
    for (const t of this.owned) this.be.free(t);
    this.owned.clear();
    this.entries.length = 0;
    this.tracked.clear();
  }
}
