/** softmax (in place, per row of the last axis) and logsumexp (out[r] = log sum_i exp(x[r, i])). */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ROW_SOFTMAX } from './wgsl.js';

export interface SoftmaxArgs { x: Tensor }
export interface LogsumexpArgs { x: Tensor; out: Tensor }

export const SOFTMAX = defineOp<SoftmaxArgs>({
  name: 'softmax',
  check({ x }) {
    requireF32('softmax', x);
  },
  cpu(k, { x }) {
    const n = lastDim(x);
    k.call('softmax', [k.ptr(x), x.size / n, n], 8 * x.size);
  },
  webgpu(k, { x }) {
    const n = lastDim(x), rows = x.size / n, sg = k.subgroups ? '_sg' : '';
    k.dispatch(`row_softmax${sg}`, () => ROW_SOFTMAX(!!sg), [x, 'unusedOut'], [rows, n, x.offset, 0, 0], rows);
  },
});

export const LOGSUMEXP = defineOp<LogsumexpArgs>({
  name: 'logsumexp',
  check({ x, out }) {
    requireF32('logsumexp', x, out);
    if (out.size * lastDim(x) !== x.size) opError('logsumexp', `x[${x.shape}] out[${out.shape}] do not fit`);
  },
  cpu(k, { x, out }) {
    const n = lastDim(x);
    k.call('logsumexp', [k.ptr(x), k.ptr(out), x.size / n, n], 8 * x.size);
  },
  webgpu(k, { x, out }) {
    const n = lastDim(x), rows = x.size / n, sg = k.subgroups ? '_sg' : '';
    k.dispatch(`row_softmax${sg}`, () => ROW_SOFTMAX(!!sg), [x, out], [rows, n, x.offset, out.offset, 1], rows);
  },
});
