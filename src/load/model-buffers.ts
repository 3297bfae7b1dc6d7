/**
 * A model from files held in memory (a browser's file picker, a fetch): a Hugging Face folder's config.json,
 * model.safetensors, tokenizer.json or tokenizer.bin (+ tokenizer_config.json, lithe.json), or a llama2.c .bin with its tokenizer
 * .bin. The same parsers as the file-system loader (load-model.ts), without the file system.
 */
import { FormatError, InputError } from '../util/errors.js';
import { parsePackedFormat } from '../models/packed-storage.js';
import { parseSparseFormat } from '../models/sparse-storage.js';
import type { LoadedFiles } from './load-model.js';
import { readOnline } from './load-model.js';
import { parseSafetensors } from '../io/safetensors.js';
import { HfTokenizer } from '../io/tokenizer-hf.js';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.js';
import { parseHfConfig, parseLlama2c } from '../models/index.js';

function json(name: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FormatError(name, `invalid JSON (${(e as Error).message})`);
  }
}

/** `files`: base name -> bytes. */
export function modelFilesFromBuffers(files: Map<string, Uint8Array>): LoadedFiles {
  const cfg = files.get('config.json');
  if (cfg) {
    const config = parseHfConfig(json('config.json', cfg), 'config.json');
    const weights = files.get('model.safetensors');
    if (!weights) throw new InputError('model.safetensors: missing (pick the folder\'s config.json, model.safetensors and tokenizer.json)');
    const tensors = parseSafetensors('model.safetensors', weights).tensors;
    if (!tensors.has('lm_head.weight')) config.tiedEmbeddings = true;
    const tj = files.get('tokenizer.json'), tc = files.get('tokenizer_config.json');
    const tb = files.get('tokenizer.bin'); // a llama2.c tokenizer beside the folder, as the file-system loader accepts
    const tokenizer = tj ? HfTokenizer.fromJson(json('tokenizer.json', tj), tc ? json('tokenizer_config.json', tc) : {}, 'tokenizer.json', { bos: config.bosId, eos: config.eosIds })
      : tb ? Llama2cTokenizer.parse('tokenizer.bin', tb, config.vocabSize) : null;
    const lj = files.get('lithe.json');
    const lithe = (lj ? json('lithe.json', lj) : {}) as { online?: unknown; packed?: unknown; sparse?: unknown };
    return { config, tensors, tokenizer, source: { path: 'config.json', format: 'huggingface' }, online: readOnline(lithe.online, 'lithe.json'), packed: parsePackedFormat(lithe.packed, 'lithe.json') ?? parseSparseFormat(lithe.sparse, 'lithe.json') };
  }
  const bins = [...files.keys()].filter((n) => n.endsWith('.bin'));
  const tokName = bins.find((n) => n === 'tokenizer.bin' || /^tok.*\.bin$/.test(n));
  const modelName = bins.find((n) => n !== tokName);
  if (!modelName) throw new InputError('no model: pick a Hugging Face folder\'s files (config.json, model.safetensors, tokenizer.json) or a llama2.c .bin and its tokenizer .bin');
  const { config, tensors } = parseLlama2c(modelName, files.get(modelName)!);
  const tokenizer = tokName ? Llama2cTokenizer.parse(tokName, files.get(tokName)!, config.vocabSize) : null;
  return { config, tensors, tokenizer, source: { path: modelName, format: 'llama2c' }, online: null, packed: null };
}
