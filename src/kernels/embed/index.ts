/** embed: out[t] = table[ids[t]] (ids an i32 tensor, validated by the caller). */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { EMBED as EMBED_WGSL } from './wgsl.js';
import { EMBED_BACKWARD } from '../embed-backward/index.js';

export interface EmbedArgs { table: Tensor; ids: Tensor; out: Tensor }

export const EMBED = defineOp<EmbedArgs>({
  name: 'embed',
  check({ table, ids, out }) {
    requireF32('embed', table, out);
    if (ids.dtype !== 'i32' || out.size !== ids.size * table.shape[1]!) opError('embed', `table[${table.shape}] ids[${ids.shape}] out[${out.shape}] do not fit`);
  },
  cpu(k, { table, ids, out }) {
    const dim = table.shape[1]!;
    k.call('embed', [k.ptr(table), k.ptr(ids), k.ptr(out), ids.size, dim], ids.size * dim);
  },
  webgpu(k, { table, ids, out }) {
    const dim = table.shape[1]!;
    k.dispatch('embed', () => EMBED_WGSL, [ids, table, out], [ids.size, dim, ids.offset, table.offset, out.offset], Math.ceil(ids.size * dim / 256));
  },
  grad(r, { table, ids, out }, grad) {
    const dy = grad(out), dtable = grad(table);
    if (dy && dtable) r.run(EMBED_BACKWARD, { ids, dy, dtable });
  },
});
