/** Hugging Face config.json -> DecoderConfig, for LlamaForCausalLM, Qwen2ForCausalLM and MistralForCausalLM. */
import { FormatError } from '../../util/errors.js';
import { DecoderArch, DecoderConfig, RopeScaling, validateConfig } from '../config.js';

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, file: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new FormatError(file, `field "${key}" is missing (expected a number)`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(file, `field "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function ropeScaling(raw: unknown, file: string): RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  const r = raw as Json;
  const type = (r['rope_type'] ?? r['type']) as string | undefined;
  if (type === undefined || type === 'default') return null;
  if (type === 'linear') return { type, factor: num(r, 'factor', file) };
  if (type === 'llama3') {
    return { type, factor: num(r, 'factor', file), lowFreqFactor: num(r, 'low_freq_factor', file), highFreqFactor: num(r, 'high_freq_factor', file),
      originalMaxPositions: num(r, 'original_max_position_embeddings', file) };
  }
  throw new FormatError(file, `rope scaling type "${type}" is not supported (supported: default, linear, llama3)`);
}

export function parseHfConfig(cfg: unknown, file: string): DecoderConfig {
  if (typeof cfg !== 'object' || cfg === null) throw new FormatError(file, 'expected a JSON object');
  const c = cfg as Json;
  const modelType = c['model_type'];
  const archs: Record<string, DecoderArch> = { llama: 'llama', qwen2: 'qwen2', mistral: 'mistral' };
  const arch = typeof modelType === 'string' ? archs[modelType] : undefined;
  if (!arch) throw new FormatError(file, `model_type ${JSON.stringify(modelType)} is not supported (supported: llama, qwen2, mistral)`);
  if (c['hidden_act'] !== undefined && c['hidden_act'] !== 'silu') throw new FormatError(file, `hidden_act "${c['hidden_act']}" is not supported (expected silu)`);
  if (c['mlp_bias'] === true) throw new FormatError(file, 'mlp_bias=true is not supported');
  const dim = num(c, 'hidden_size', file);
  const nHeads = num(c, 'num_attention_heads', file);
  const ropeParams = (c['rope_parameters'] ?? {}) as Json;
  const ropeTheta = typeof c['rope_theta'] === 'number' ? (c['rope_theta'] as number) : num(ropeParams, 'rope_theta', file, 10000);
  const scaling = ropeScaling(c['rope_scaling'] ?? (Object.keys(ropeParams).length ? ropeParams : undefined), file);
  const useWindow = arch === 'mistral' || (arch === 'qwen2' && c['use_sliding_window'] === true);
  const eos = c['eos_token_id'];
  const config: DecoderConfig = {
    arch,
    dim,
    hiddenDim: num(c, 'intermediate_size', file),
    nLayers: num(c, 'num_hidden_layers', file),
    nHeads,
    nKVHeads: num(c, 'num_key_value_heads', file, nHeads),
    headDim: num(c, 'head_dim', file, dim / nHeads),
    vocabSize: num(c, 'vocab_size', file),
    maxSeqLen: num(c, 'max_position_embeddings', file, 2048),
    normEps: num(c, 'rms_norm_eps', file, 1e-6),
    ropeTheta,
    ropeScaling: scaling,
    neoxRope: true,
    qkvBias: arch === 'qwen2' || c['attention_bias'] === true,
    tiedEmbeddings: c['tie_word_embeddings'] === true,
    slidingWindow: useWindow && typeof c['sliding_window'] === 'number' ? (c['sliding_window'] as number) : 0,
    bosId: typeof c['bos_token_id'] === 'number' ? (c['bos_token_id'] as number) : null,
    eosIds: Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [],
  };
  return validateConfig(config, file);
}
