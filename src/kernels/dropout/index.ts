/**
 * dropout: out = x keep / (1 - p) with keep drawn from a hash of (seed, element index): seeded, reproducible, and
 * its backward (dx += dy keep / (1 - p)) regenerates the mask instead of storing it. The training loop passes a
 * fresh seed per step; evaluation does not call it.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DROPOUT as DROPOUT_WGSL } from './wgsl.js';

export interface DropoutArgs { x: Tensor; out: Tensor; p: number; seed: number; accumulate?: boolean }

export const DROPOUT = defineOp<DropoutArgs>({
  name: 'dropout',
  check({ x, out, p, seed }) {
    requireF32('dropout', x, out);
    if (x.size !== out.size) opError('dropout', 'sizes differ');
    if (!(p >= 0 && p < 1)) opError('dropout', `p must be in [0, 1), got ${p}`);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) opError('dropout', `seed must be a 32-bit unsigned integer, got ${seed}`);
  },
  cpu(k, { x, out, p, seed, accumulate }) {
    k.call('dropout', [k.ptr(x), k.ptr(out), x.size, seed, Math.round(p * 2 ** 24), 1 / (1 - p), accumulate ? 1 : 0], 8 * x.size);
  },
  webgpu(k, { x, out, p, seed, accumulate }) {
    if (k.sameBuffer(x, out)) opError('dropout', 'runs out of place only on WebGPU (out must not share the input\'s buffer)');
    k.dispatch('dropout', () => DROPOUT_WGSL, [x, out], [x.size, seed, Math.round(p * 2 ** 24), { f: 1 / (1 - p) }, accumulate ? 1 : 0, x.offset, out.offset], Math.ceil(x.size / 256));
  },
  grad(r, { x, out, p, seed }, grad) {
    const dy = grad(out), dx = grad(x);
    if (dy && dx) r.run(DROPOUT, { x: dy, out: dx, p, seed, accumulate: true });
  },
});
