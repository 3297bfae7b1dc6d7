/**
 * block_attention: non-causal flash attention on q/k/v/out [heads, tokens, headDim] in square blocks, dense (no
 * mask) or block-sparse (CSR lists or a u8 bitmap): masked-out blocks cost nothing and a query block with no key
 * block gets zeros; lse (optional, f32 [heads, tokens]) receives each row's log-sum-exp of the scores it attended.
 * block_mass: mass [heads, nb, nb], the softmax mass of every (query block, key block) pair, given lse from a dense
 * call (the ground truth for recall). CPU: K is packed into 8-key panels per call, then (head, query block) items run
 * round robin over the threads (assembly.ts).
 */
import { defineOp, opError, requireF32, type CpuKernels } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BLOCK_ATTENTION as BLOCK_ATTENTION_WGSL, BLOCK_MASS as BLOCK_MASS_WGSL } from './wgsl.js';

/** Non-causal attention over [heads, tokens, headDim] tensors in square blocks (src/attention). */
export interface BlockAttentionParams {
  heads: number;
  tokens: number;
  headDim: number;
  /** query and key block size in tokens (a multiple of 8; 64 and 128 in practice) */
  block: number;
  scale: number;
}

/**
 * Which key blocks each (head, query block) attends: CSR lists (i32 rowPtr [heads * nb + 1], i32 cols sorted
 * per row) or a u8 bitmap [heads, nb, nb]; nb = ceil(tokens / block).
 */
export type BlockMaskTensors = { rowPtr: Tensor; cols: Tensor } | { bitmap: Tensor };

export interface BlockAttentionArgs { q: Tensor; k: Tensor; v: Tensor; out: Tensor; p: BlockAttentionParams; mask?: BlockMaskTensors; lse?: Tensor }
export interface BlockMassArgs { q: Tensor; k: Tensor; lse: Tensor; mass: Tensor; p: BlockAttentionParams }

function checkBlocks(op: string, p: BlockAttentionParams, ...ts: Tensor[]): number {
  requireF32(op, ...ts);
  if (p.block < 8 || p.block % 8) opError(op, `block ${p.block} is not a positive multiple of 8`);
  if (p.headDim % 8) opError(op, `head dim ${p.headDim} is not a multiple of 8`);
  const n = p.heads * p.tokens * p.headDim;
  for (const t of ts) if (t.size !== n) opError(op, `tensor [${t.shape}] does not hold ${p.heads} heads x ${p.tokens} tokens x ${p.headDim}`);
  return Math.ceil(p.tokens / p.block);
}

/** K packed into 8-key panels and the per-thread scratch of one call (freed by the caller). */
function packK(kr: CpuKernels, k: Tensor, p: BlockAttentionParams): { packed: Tensor; scratch: Tensor } {
  const packed = kr.alloc([p.heads * Math.ceil(p.tokens / 8) * 8 * p.headDim]);
  const scratch = kr.alloc([kr.exported('flash_scratch_floats')(p.block, p.headDim) * kr.threads]);
  kr.call('pack_k_panels', [kr.ptr(k), kr.ptr(packed), p.heads, p.tokens, p.headDim], k.size);
  return { packed, scratch };
}

export const BLOCK_ATTENTION = defineOp<BlockAttentionArgs>({
  name: 'block_attention',
  check({ q, k, v, out, p, mask, lse }) {
    const nb = checkBlocks('block_attention', p, q, k, v, out);
    if (mask && 'bitmap' in mask && (mask.bitmap.dtype !== 'u8' || mask.bitmap.size !== p.heads * nb * nb)) opError('block_attention', `bitmap [${mask.bitmap.shape}] ${mask.bitmap.dtype} is not u8 [${p.heads}, ${nb}, ${nb}]`);
    if (mask && 'rowPtr' in mask && (mask.rowPtr.dtype !== 'i32' || mask.cols.dtype !== 'i32' || mask.rowPtr.size !== p.heads * nb + 1)) {
      opError('block_attention', `rowPtr [${mask.rowPtr.shape}] is not i32 [${p.heads * nb + 1}]`);
    }
    if (lse && (lse.dtype !== 'f32' || lse.size !== p.heads * p.tokens)) opError('block_attention', `lse [${lse.shape}] is not f32 [${p.heads}, ${p.tokens}]`);
  },
  cpu(kr, { q, k, v, out, p, mask, lse }) {
    const { packed, scratch } = packK(kr, k, p);
    try {
      const m = !mask ? [0, 0, 0] : 'bitmap' in mask ? [0, 0, kr.ptr(mask.bitmap)] : [kr.ptr(mask.rowPtr), kr.ptr(mask.cols), 0];
      kr.call('flash_attention', [kr.ptr(q), kr.ptr(packed), kr.ptr(v), kr.ptr(out), lse ? kr.ptr(lse) : 0, p.heads, p.tokens, p.headDim,
        p.block, p.scale, ...m, kr.ptr(scratch)], 4 * p.heads * p.tokens * p.tokens * p.headDim);
    } finally {
      kr.free(packed);
      kr.free(scratch);
    }
  },
  webgpu(kr, { q, k, v, out, p, mask, lse }) {
    const nb = Math.ceil(p.tokens / p.block);
    const mode = !mask ? 0 : 'bitmap' in mask ? 2 : 1;
    const rowPtr = mask && 'rowPtr' in mask ? mask.rowPtr : 'unused';
    const cols = mask ? ('bitmap' in mask ? mask.bitmap : mask.cols) : 'unused';
    for (const t of [rowPtr, cols]) if (typeof t !== 'string' && t.offset) opError('block_attention', 'mask tensors must not be views');
    if (lse?.offset) opError('block_attention', 'lse must not be a view');
    kr.dispatch(`block_attention_${p.headDim}_${p.block}`, () => BLOCK_ATTENTION_WGSL(p.headDim, p.block), [q, k, v, out, lse ?? 'unusedOut', rowPtr, cols],
      [p.heads, p.tokens, p.block, { f: p.scale }, mode, lse ? 1 : 0, q.offset, k.offset, v.offset, out.offset], p.heads * nb);
  },
});

export const BLOCK_MASS = defineOp<BlockMassArgs>({
  name: 'block_mass',
  check({ q, k, lse, mass, p }) {
    const nb = checkBlocks('block_mass', p, q, k);
    if (lse.size !== p.heads * p.tokens || mass.size !== p.heads * nb * nb) opError('block_mass', `lse [${lse.shape}] or mass [${mass.shape}] does not fit`);
  },
  cpu(kr, { q, k, lse, mass, p }) {
    const { packed, scratch } = packK(kr, k, p);
    try {
      kr.call('block_mass', [kr.ptr(q), kr.ptr(packed), kr.ptr(lse), kr.ptr(mass), p.heads, p.tokens, p.headDim, p.block, p.scale, kr.ptr(scratch)],
        2 * p.heads * p.tokens * p.tokens * p.headDim);
    } finally {
      kr.free(packed);
      kr.free(scratch);
    }
  },
  webgpu(kr, { q, k, lse, mass, p }) {
    const nb = Math.ceil(p.tokens / p.block);
    kr.dispatch(`block_mass_${p.headDim}_${p.block}`, () => BLOCK_MASS_WGSL(p.headDim, p.block), [q, k, lse, mass],
      [p.heads, p.tokens, p.block, { f: p.scale }, q.offset, k.offset, lse.offset, mass.offset], p.heads * nb);
  },
});
