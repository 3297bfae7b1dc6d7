/** The LLaMA-family configuration every reader produces (LLaMA, Qwen2, Mistral; llama2.c; GGUF). */
import { FormatError } from '../util/errors.js';

export type DecoderArch = 'llama' | 'qwen2' | 'mistral';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface DecoderConfig {
  arch: DecoderArch;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKVHeads: number;
  headDim: number;
  vocabSize: number;
  maxSeqLen: number;
  normEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** true: rotate-half RoPE pairs (Hugging Face); false: adjacent pairs (Meta, llama2.c, GGUF llama) */
  neoxRope: boolean;
  /** q/k/v projections carry biases (Qwen2) */
  qkvBias: boolean;
  tiedEmbeddings: boolean;
  /** attention window in tokens (Mistral); 0 = full causal */
  slidingWindow: number;
  bosId: number | null;
  eosIds: number[];
}

/** Checks the derived invariants; `file` names the source in the error. */
export function validateConfig(c: DecoderConfig, file: string): DecoderConfig {
  const positive: (keyof DecoderConfig)[] = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKVHeads', 'headDim', 'vocabSize', 'maxSeqLen'];
  for (const k of positive) {
    const v = c[k] as number;
    if (!Number.isSafeInteger(v) || v <= 0 || v > 2 ** 31) throw new FormatError(file, `${k} must be a positive integer, got ${v}`);
  }
  if (c.nHeads % c.nKVHeads !== 0) throw new FormatError(file, `number of attention heads (${c.nHeads}) must be a multiple of key-value heads (${c.nKVHeads})`);
  if (c.headDim % 4 !== 0) throw new FormatError(file, `head dimension ${c.headDim} must be a multiple of 4 (SIMD kernels)`);
  if (!(c.normEps > 0 && c.normEps < 1)) throw new FormatError(file, `rms_norm_eps must be in (0, 1), got ${c.normEps}`);
  if (!(c.ropeTheta > 0)) throw new FormatError(file, `rope theta must be positive, got ${c.ropeTheta}`);
  return c;
}
