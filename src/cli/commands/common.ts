import { defaultThreads } from '../options.js';
import { Output, stderrLine } from '../output.js';
import { DecoderModel, LoadedFiles, createBackend, createModel, loadModel, readText } from '../../index.js';

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
export async function modelForCompression(files: LoadedFiles, f: CommonFlags & { actDtype?: 'f32' | 'f16' | 'bf16' }): Promise<DecoderModel> {
  const backend = await createBackend(f.backend, f.threads ?? defaultThreads(), stderrLine);
  const model = createModel(backend, { ...files, packed: null });
  model.activationDType = f.actDtype ?? 'f32';
  return model;
}

export function readEvalTexts(eval_: string | undefined): { files: string[]; texts: string[] } {
  const files = eval_ ? eval_.split(',').filter(Boolean) : [];
  return { files, texts: files.map((file) => readText(file)) };
}

export async function openModel(modelPath: string, flags: CommonFlags): Promise<DecoderModel> {
  const backend = await createBackend(flags.backend, flags.threads ?? defaultThreads(), stderrLine);
  try {
    return await loadModel(backend, modelPath, { tokenizer: flags.tokenizer });
  } catch (e) {
    await backend.dispose();
    throw e;
  }
}

