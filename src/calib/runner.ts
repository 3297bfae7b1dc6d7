/**
 * Block-sequential calibration (the skeleton shared by Wanda, SparseGPT, DSnoT, OWL and GPTQ; §0.2 of the notes):
 * embed every calibration window once; then for each decoder block: run the *dense* block on every window and
 * accumulate statistics of every linear input, let the method rewrite the block's weights, re-run the block and
 * feed its (compressed) outputs to the next block. Host memory holds two [nsamples, seqlen, dim] buffers; the
 * backend holds one window's activations at a time.
 */
import os from 'node:os';
import type { Tensor } from '../tensor/tensor.js';
import { cancellationPoint, InputError, OptionError } from '../util/errors.js';
import { firstNonFiniteValue } from '../util/finite.js';
import type { CalibrationSet } from '../data/calibration.js';
import * as ops from '../ops/index.js';
import { LinearStats } from './stats.js';
import type { Model } from '../models/index.js';

/** A statistics group of a block (model.statsGroups: the linears reading one input share it; LLaMA: attn, o, mlp, down). */
export type InputGroup = string;
export type BlockStats = Record<InputGroup, LinearStats>;

export interface Timings {
  /** block forwards (both passes) */
  forwardSeconds: number;
  /** reading activations and accumulating statistics (incl. Gram matrices) */
  statsSeconds: number;
  /** the compression method itself */
  methodSeconds: number;
}

export interface RunOptions {
  /** collect X^T X Hessians (SparseGPT, GPTQ) */
  hessian: boolean;
  /** only collect statistics (dense outputs are propagated; no method is applied) */
  statsOnly?: boolean;
  /**
   * Sub-layer passes inside a block (GPTQ's true-sequential order): for each entry, one pass over the windows
   * with the block as the method has left it so far collects statistics for those inputs only, then the method
   * runs on them. Default: one pass, all inputs.
   */
  passes?: InputGroup[][];
  signal?: AbortSignal;
  onProgress?: (block: number, blocks: number) => void;
}

/** `groups`: the inputs whose statistics this call brings (all four unless `passes` splits the block). */
export type BlockMethod = (layer: number, stats: BlockStats, groups: InputGroup[]) => Promise<void> | void;

/** Host bytes of a calibration run: the two [nsamples, seqlen, dim] float32 buffers and the token windows. */
export function calibrationHostBytes(nsamples: number, seqlen: number, dim: number): number {
  return nsamples * seqlen * (2 * dim * 4 + 4);
}

/**
 * Refuses --nsamples x --seqlen whose host buffers exceed the free memory (windows are drawn with replacement, so
 * the text never limits the count; memory does), before anything is sampled.
 */
export function checkCalibrationMemory(nsamples: number, seqlen: number, dim: number, free = os.freemem(), total = os.totalmem()): void {
  const need = calibrationHostBytes(nsamples, seqlen, dim);
  if (need <= free) return;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GiB`;
  throw new OptionError('--nsamples', `${nsamples} windows of ${seqlen} tokens need ${gib(need)} of host buffers (2 x nsamples x seqlen x hidden size ${dim} x 4 bytes + tokens), ` +
    `more than the ${gib(free)} free of ${gib(total)}; lower --nsamples or --seqlen`);
}

/** Gram matrix X^T X of x [T, C] on the backend (sgemm on the transposed activations). */
async function gram(model: Model, x: Float32Array, T: number, C: number, xt: Tensor, out: Tensor): Promise<Float32Array> {
  const t = new Float32Array(C * T);
  for (let r = 0; r < T; r++) for (let c = 0; c < C; c++) t[c * T + r] = x[r * C + c]!;
  const be = model.backend;
  be.write(xt, t);
  ops.linear(be, xt, xt, null, out);
  return be.read(out);
}

export async function runBlockSequential(model: Model, calib: CalibrationSet, o: RunOptions, method: BlockMethod): Promise<Timings> {
  const be = model.backend, T = calib.seqlen, dim = model.hiddenSize;
  const timings: Timings = { forwardSeconds: 0, statsSeconds: 0, methodSeconds: 0 };
  const now = () => performance.now() / 1000;
  let t0 = now();
  let inps: Float32Array[] = [];
  for (const w of calib.windows) {
    const h = model.embed(w);
    inps.push(await be.read(h));
    be.free(h);
  }
  let outs: Float32Array[] = calib.windows.map(() => new Float32Array(T * dim));
  timings.forwardSeconds += now() - t0;
  const h = be.alloc([T, dim]);
  const maxWidth = Math.max(...Array.from({ length: model.blockCount }, (_, i) => model.statsGroups(i).map((g) => g.width)).flat());
  const xt = o.hessian ? be.alloc([maxWidth, T]) : null;
  const g = o.hessian ? be.alloc([maxWidth ** 2]) : null;
  try {
    for (let layer = 0; layer < model.blockCount; layer++) {
      const groupList = model.statsGroups(layer);
      const widths = Object.fromEntries(groupList.map((gr) => [gr.name, gr.width])) as Record<InputGroup, number>;
      const stats = Object.fromEntries(groupList.map((gr) => [gr.name, new LinearStats(gr.width, o.hessian)])) as BlockStats;
      const passes = o.passes ?? [groupList.map((gr) => gr.name)];
      for (let pass = 0; pass < passes.length; pass++) {
        const groups = passes[pass]!;
        for (let j = 0; j < inps.length; j++) {
          await cancellationPoint(o.signal);
          t0 = now();
          be.write(h, inps[j]!);
          model.block(layer, h, { pos0: 0 });
          if (o.statsOnly) outs[j]!.set(await be.read(h));
          const t1 = now();
          timings.forwardSeconds += t1 - t0;
          const inputs = model.groupInputs(T);
          for (const k of groups) {
            const x = await be.read(inputs[k]!);
            if (firstNonFiniteValue(x) >= 0) {
              const names = model.linears(layer).filter((l) => l.group === k).map((l) => l.name).join(', ');
              throw new InputError(`calibration block ${layer}, window ${j + 1}: the input of ${names} is NaN or infinite (the weights overflow float32 on this data)`);
            }
            const C = widths[k]!;
            const gm = xt && g ? await gram(model, x, T, C, xt.view([C, T]), g.view([C, C])) : undefined;
            stats[k]!.addSequence(x, gm);
          }
          timings.statsSeconds += now() - t1;
        }
        if (pass < passes.length - 1 && !o.statsOnly) {
          t0 = now();
          await method(layer, stats, groups);
          timings.methodSeconds += now() - t0;
        }
      }
      const lastGroups = passes[passes.length - 1]!;
      if (!o.statsOnly) {
        t0 = now();
        await method(layer, stats, lastGroups);
        timings.methodSeconds += now() - t0;
        t0 = now();
        for (let j = 0; j < inps.length; j++) {
          await cancellationPoint(o.signal);
          be.write(h, inps[j]!);
          model.block(layer, h, { pos0: 0 });
          outs[j]!.set(await be.read(h));
        }
        timings.forwardSeconds += now() - t0;
      } else {
        await method(layer, stats, lastGroups);
      }
      [inps, outs] = [outs, inps];
      o.onProgress?.(layer + 1, model.blockCount);
    }
  } finally {
    be.free(h);
    if (xt) be.free(xt);
    if (g) be.free(g);
  }
  return timings;
}
