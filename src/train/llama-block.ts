/**
 * A LLaMA decoder block on the tape (for fine-tuning: LoSA, distillation): RMSNorm, q/k/v projections, RoPE,
 * causal grouped-query attention, output projection and residual, RMSNorm, SwiGLU MLP and residual - the same
 * computation as models/llama/model.ts's block(), out of place so it can be differentiated. `blockStack` runs
 * several, each under gradient checkpointing when asked, so a step holds one block's activations at a time.
 */
import * as F from '../autograd/functional.js';
import type { Tape } from '../autograd/tape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface BlockShape {
  hidden: number;
  heads: number;
  kvHeads: number;
  eps: number;
  /** rotate-half RoPE pairs (Hugging Face) or adjacent ones (Meta, GGUF) */
  neox: boolean;
}

/** float weights of one block (Param values, or frozen tensors) */
export interface BlockWeights {
  attnNorm: Tensor; wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor;
  ffnNorm: Tensor; wGate: Tensor; wUp: Tensor; wDown: Tensor;
}

/** h [T, hidden] -> the block's output [T, hidden] (positions 0..T-1) */
export function llamaBlock(t: Tape, h: Tensor, w: BlockWeights, rope: F.RopeTables, s: BlockShape): Tensor {
  const T = h.shape[0]!, hd = s.hidden / s.heads;
  const a = F.rmsnorm(t, h, w.attnNorm, s.eps);
  const q = F.rope(t, F.linear(t, a, w.wq, null), rope, { T, heads: s.heads, headDim: hd, pos0: 0, neox: s.neox });
  const k = F.rope(t, F.linear(t, a, w.wk, null), rope, { T, heads: s.kvHeads, headDim: hd, pos0: 0, neox: s.neox });
  const v = F.linear(t, a, w.wv, null);
  const att = F.attention(t, q, k, v, { T, nHeads: s.heads, nKVHeads: s.kvHeads, headDim: hd, pos0: 0, window: 0, scale: 1 / Math.sqrt(hd) });
  const h2 = F.add(t, h, F.linear(t, att, w.wo, null));
  const b = F.rmsnorm(t, h2, w.ffnNorm, s.eps);
  const m = F.siluMul(t, F.linear(t, b, w.wGate, null), F.linear(t, b, w.wUp, null));
  return F.add(t, h2, F.linear(t, m, w.wDown, null));
}

/** blocks in sequence; with `checkpointing` each block's activations are recomputed in backward instead of kept */
export function blockStack(t: Tape, h: Tensor, blocks: BlockWeights[], rope: F.RopeTables, s: BlockShape, checkpointing: boolean): Tensor {
  let x = h;
  for (const w of blocks) x = checkpointing ? F.checkpoint(t, [x], (tt, [xi]) => llamaBlock(tt, xi!, w, rope, s)) : llamaBlock(t, x, w, rope, s);
  return x;
}
