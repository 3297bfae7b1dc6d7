/**
 * Opens a model by path: a Hugging Face folder (config.json + model.safetensors or a sharded index), a
 * .safetensors file with a config.json beside it, a .gguf file, or a llama2.c .bin (tokenizer from
 * `tokenizer`, else tokenizer.bin or a single tok*.bin beside it).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { FormatError, InputError } from '../util/errors.js';
import type { DecoderConfig } from '../models/config.js';
import { isDirectory, readJson } from '../io/files.js';
import { onlineConfig, onlineHook, StoredOnline } from '../quant/rotation/online.js';
import { parsePackedFormat } from '../models/packed-storage.js';
import { parseSparseFormat, type LinearStorageFormat } from '../models/sparse-storage.js';
import type { TensorMap } from '../io/raw-tensor.js';
import { readSafetensors } from '../io/safetensors.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { HfTokenizer } from '../io/tokenizer-hf.js';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.js';
import { DecoderModel, ModelSource, parseHfConfig, readGguf, readLlama2c, createModel } from '../models/index.js';

export interface LoadOptions {
  /** tokenizer file for llama2.c checkpoints (tokenizer.bin format) or an HF tokenizer.json */
  tokenizer?: string;
}

export interface LoadedFiles {
  config: DecoderConfig;
  tensors: TensorMap;
  tokenizer: TextTokenizer | null;
  source: ModelSource;
  /** online transforms a rotated checkpoint needs (its lithe.json "online" field) */
  online: StoredOnline | null;
  /** the linears are stored packed or sparse (lithe.json "packed" / "sparse"), not as dense floats */
  packed: LinearStorageFormat | null;
}

/** Reads and validates the files of a model without touching a backend. */
export async function readModelFiles(modelPath: string, options: LoadOptions = {}): Promise<LoadedFiles> {
  if (!existsSync(modelPath)) throw new InputError(`${modelPath}: no such file or directory`);
  if (isDirectory(modelPath)) return readHfFolder(modelPath, options);
  const ext = path.extname(modelPath).toLowerCase();
  if (ext === '.gguf') {
    const g = await readGguf(modelPath);
    const tokenizer = options.tokenizer ? openTokenizer(options.tokenizer, g.config) : g.tokenizer;
    return { config: g.config, tensors: g.tensors, tokenizer, source: { path: modelPath, format: 'gguf' }, online: null, packed: null };
  }
  if (ext === '.safetensors') return readHfFolder(path.dirname(modelPath), options, modelPath);
  if (ext === '.bin') {
    const { config, tensors } = readLlama2c(modelPath);
    const tokFile = options.tokenizer ?? findLlama2cTokenizer(modelPath);
    return { config, tensors, tokenizer: tokFile ? openTokenizer(tokFile, config) : null, source: { path: modelPath, format: 'llama2c' }, online: null, packed: null };
  }
  throw new InputError(`${modelPath}: unknown model format (expected a Hugging Face folder, .safetensors, .gguf or a llama2.c .bin)`);
}

export async function loadModel(backend: Backend, modelPath: string, options: LoadOptions = {}): Promise<DecoderModel> {
  return modelFromFiles(backend, await readModelFiles(modelPath, options));
}

/** Upload read model files to a backend (restoring a rotated checkpoint's online transforms). */
export function modelFromFiles(backend: Backend, f: LoadedFiles): DecoderModel {
  const model = createModel(backend, { ...f, source: { ...f.source, online: f.online } });
  if (f.online) model.activationHook = onlineHook(model, onlineConfig({}, f.online));
  return model;
}

function findLlama2cTokenizer(modelPath: string): string | undefined {
  const dir = path.dirname(modelPath);
  if (existsSync(path.join(dir, 'tokenizer.bin'))) return path.join(dir, 'tokenizer.bin');
  const toks = readdirSync(dir).filter((f) => /^tok.*\.bin$/.test(f));
  return toks.length === 1 ? path.join(dir, toks[0]!) : undefined;
}

function openTokenizer(file: string, config: DecoderConfig): TextTokenizer {
  if (file.endsWith('.json')) {
    const cfg = path.join(path.dirname(file), 'tokenizer_config.json');
    return HfTokenizer.fromFiles(file, existsSync(cfg) ? cfg : undefined, { bos: config.bosId, eos: config.eosIds });
  }
  return Llama2cTokenizer.fromFile(file, config.vocabSize);
}

function readHfFolder(dir: string, options: LoadOptions, weightsFile?: string): LoadedFiles {
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError(`${dir}: no config.json (expected a Hugging Face model folder)`);
  const config = parseHfConfig(readJson(configFile), configFile);
  const tensors: TensorMap = new Map();
  const single = weightsFile ?? path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  if (existsSync(single)) {
    for (const [k, v] of readSafetensors(single).tensors) tensors.set(k, v);
  } else if (existsSync(index)) {
    const idx = readJson(index) as { weight_map?: Record<string, string> };
    if (typeof idx?.weight_map !== 'object' || idx.weight_map === null) throw new FormatError(index, 'field "weight_map" is missing (expected {tensor: shard file})');
    const shards = [...new Set(Object.values(idx.weight_map))];
    for (const shard of shards) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) throw new FormatError(index, `weight_map names an invalid shard ${JSON.stringify(shard)}`);
      const shardPath = path.join(dir, shard);
      if (!existsSync(shardPath)) throw new FormatError(index, `shard ${shard} is listed but missing`);
      for (const [k, v] of readSafetensors(shardPath).tensors) tensors.set(k, v);
    }
  } else {
    throw new InputError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  }
  if (!tensors.has('lm_head.weight') && !config.tiedEmbeddings) config.tiedEmbeddings = true;
  let tokenizer: TextTokenizer | null = null;
  const tokFile = options.tokenizer ?? ['tokenizer.json', 'tokenizer.bin'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (tokFile) tokenizer = openTokenizer(tokFile, config);
  const meta = path.join(dir, 'lithe.json');
  const lithe = existsSync(meta) ? (readJson(meta) as { online?: unknown; packed?: unknown; sparse?: unknown }) : {};
  return { config, tensors, tokenizer, source: { path: dir, format: 'huggingface' }, online: readOnline(lithe.online, meta), packed: parsePackedFormat(lithe.packed, meta) ?? parseSparseFormat(lithe.sparse, meta) };
}

/** The "online" field of a Lithe checkpoint's lithe.json ({r4: boolean}), or null. */
export function readOnline(online: unknown, file: string): StoredOnline | null {
  if (online === undefined || online === null) return null;
  if (typeof online !== 'object' || typeof (online as { r4?: unknown }).r4 !== 'boolean') {
    throw new FormatError(file, 'field "online" must be {"r4": true|false}');
  }
  return { r4: (online as StoredOnline).r4 };
}
