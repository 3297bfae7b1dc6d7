/**
 * Model families. The loader asks here which family reads a checkpoint and builds the model: the configuration's
 * architecture name (Hugging Face model_type, GGUF general.architecture, llama2.c = llama) picks the family. A new
 * family is a folder models/<family>/ plus one entry in FAMILIES; nothing outside models/ names a family.
 */
import type { Backend } from '../backend/backend.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { TensorMap } from '../io/raw-tensor.js';
import { FormatError } from '../util/errors.js';
import type { DecoderConfig } from './config.js';
import type { DecoderModel, ModelSource } from './decoder.js';
import type { LinearStorageFormat } from './sparse-storage.js';
import { LlamaModel } from './llama/model.js';
import { checkLlamaTensors, uploadDecoderWeights } from './llama/weights.js';
import { parseHfConfig as parseLlamaHfConfig } from './llama/hf-config.js';

export { readGguf, type GgufModel } from './llama/gguf.js';
export { readLlama2c, parseLlama2c } from './llama/llama2c.js';

/** What a family builds a model from: read checkpoint files (load/ reads them). */
export interface ModelFiles {
  config: DecoderConfig;
  tensors: TensorMap;
  tokenizer: TextTokenizer | null;
  source: ModelSource;
  /** the linears are stored packed or sparse (lithe.json "packed" / "sparse"), not as dense floats */
  packed: LinearStorageFormat | null;
}

export interface ModelFamily {
  readonly name: string;
  /** architecture names (Hugging Face model_type / GGUF general.architecture) the family reads */
  readonly archs: readonly string[];
  /** a configuration from a Hugging Face config.json */
  parseHfConfig(json: unknown, file: string): DecoderConfig;
  /** checks that the tensors hold every weight the config needs, with the right shapes, types and finite values; returns the parameter count */
  checkTensors(c: DecoderConfig, tensors: TensorMap, file: string, packed: LinearStorageFormat | null): number;
  /** uploads the checkpoint's tensors to a backend */
  create(backend: Backend, files: ModelFiles): DecoderModel;
}

const llama: ModelFamily = {
  name: 'llama',
  archs: ['llama', 'qwen2', 'mistral'],
  parseHfConfig: parseLlamaHfConfig,
  checkTensors: checkLlamaTensors,
  create(backend, f) {
    return new LlamaModel(backend, f.config, uploadDecoderWeights(backend, f.config, f.tensors, f.source.path, f.packed), f.tokenizer, f.source);
  },
};

export const FAMILIES: readonly ModelFamily[] = [llama];

export function familyFor(arch: string, file: string): ModelFamily {
  const f = FAMILIES.find((fam) => fam.archs.includes(arch));
  if (!f) throw new FormatError(file, `architecture "${arch}" is not supported (supported: ${FAMILIES.flatMap((x) => x.archs).join(', ')})`);
  return f;
}

/** A Hugging Face config.json read by the family its model_type names (LLaMA's reader reports unknown types). */
export function parseHfConfig(json: unknown, file: string): DecoderConfig {
  const type = (json as { model_type?: unknown } | null)?.model_type;
  const family = typeof type === 'string' ? FAMILIES.find((fam) => fam.archs.includes(type)) : undefined;
  return (family ?? llama).parseHfConfig(json, file);
}

/** The family's check of a checkpoint's tensors against its config (names, shapes, types, finite values); the parameter count. */
export function checkModelTensors(c: DecoderConfig, tensors: TensorMap, file: string, packed: LinearStorageFormat | null = null): number {
  return familyFor(c.arch, file).checkTensors(c, tensors, file, packed);
}

/** Builds the model of read checkpoint files with its family. */
export function createModel(backend: Backend, files: ModelFiles): DecoderModel {
  return familyFor(files.config.arch, files.source.path).create(backend, files);
}
