import { createBackend } from '../../backend/create.js';
import { LlamaModel } from '../../models/llama/model.js';
import { uploadLlamaWeights } from '../../models/llama/weights.js';
import { readText } from '../../data/text.js';
import { LoadedFiles, loadModel } from '../../io/load-model.js';
import { InputError } from '../../util/errors.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import { defaultThreads } from '../options.js';
import { Output, stderrLine } from '../output.js';

export interface CommonFlags {
  threads?: number;
  /** cpu | webgpu | auto (backend/create.ts) */
  backend?: string;
  tokenizer?: string;
  json?: boolean;
}

export interface Context {
  out: Output;
  signal: AbortSignal;
}

/**
 * The float model of already-read files on a fresh CPU backend (the caller disposes model.backend), with its
 * activation type set; and the --eval texts read up front, so a missing file fails before any work.
 */
export async function modelForCompression(files: LoadedFiles, f: CommonFlags & { actDtype?: 'f32' | 'f16' | 'bf16' }): Promise<LlamaModel> {
  const backend = await createBackend(f.backend, f.threads ?? defaultThreads(), stderrLine);
  const model = new LlamaModel(backend, files.config, uploadLlamaWeights(backend, files.config, files.tensors, files.source.path), files.tokenizer, files.source);
  model.activationDType = f.actDtype ?? 'f32';
  return model;
}

export function readEvalTexts(eval_: string | undefined): { files: string[]; texts: string[] } {
  const files = eval_ ? eval_.split(',').filter(Boolean) : [];
  return { files, texts: files.map((file) => readText(file)) };
}

export async function openModel(modelPath: string, flags: CommonFlags): Promise<LlamaModel> {
  const backend = await createBackend(flags.backend, flags.threads ?? defaultThreads(), stderrLine);
  try {
    return await loadModel(backend, modelPath, { tokenizer: flags.tokenizer });
  } catch (e) {
    await backend.dispose();
    throw e;
  }
}

export function requireTokenizer(model: LlamaModel): TextTokenizer {
  if (!model.tokenizer) throw new InputError(`${model.source.path}: no tokenizer found; pass --tokenizer FILE`);
  return model.tokenizer;
}
