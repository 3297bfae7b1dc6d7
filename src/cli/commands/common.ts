import { CpuBackend } from '../../backend/cpu/cpu-backend.js';
import type { LlamaModel } from '../../models/llama/model.js';
import { loadModel } from '../../io/load-model.js';
import { InputError } from '../../util/errors.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import { defaultThreads } from '../options.js';
import { Output } from '../output.js';

export interface CommonFlags {
  threads?: number;
  tokenizer?: string;
  json?: boolean;
}

export interface Context {
  out: Output;
  signal: AbortSignal;
}

export async function openModel(modelPath: string, flags: CommonFlags): Promise<LlamaModel> {
  const backend = await CpuBackend.create({ threads: flags.threads ?? defaultThreads() });
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
