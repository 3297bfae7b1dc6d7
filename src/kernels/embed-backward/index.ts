/** embed_backward: dtable[ids[t]] += dy[t] (scatter-add; ids i32, checked against the table by the embed op's caller). */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { EMBED_BACKWARD as EMBED_BACKWARD_WGSL } from './wgsl.js';

export interface EmbedBackwardArgs { ids: Tensor; dy: Tensor; dtable: Tensor }

export const EMBED_BACKWARD = defineOp<EmbedBackwardArgs>({
  name: 'embed_backward',
  check({ ids, dy, dtable }) {
    requireF32('embed_backward', dy, dtable);
    if (ids.dtype !== 'i32' || lastDim(dy) !== lastDim(dtable) || ids.size * lastDim(dtable) !== dy.size) opError('embed_backward', `ids[${ids.shape}] dy[${dy.shape}] dtable[${dtable.shape}] do not fit`);
  },
  cpu(k, { ids, dy, dtable }) {
    const dim = lastDim(dtable);
    k.call('embed_backward', [k.ptr(ids), k.ptr(dy), k.ptr(dtable), ids.size, dim], dy.size);
  },
  // gathered per table row (no float atomics in WGSL): each element's sum in order of t, as the CPU kernel adds
  webgpu(k, { ids, dy, dtable }) {
    const dim = lastDim(dtable), rows = dtable.size / dim;
    k.dispatch('embed_backward', () => EMBED_BACKWARD_WGSL, [ids, dy, dtable], [rows, ids.size, dim, ids.offset, dy.offset, dtable.offset], rows);
  },
});
