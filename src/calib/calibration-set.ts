/**
 * The calibration windows of a compression run, as the reference pruning/quantization code draws them: `nsamples`
 * windows of `seqlen` tokens from a text (default: the bundled C4 validation sample) with CPython's random seeded by
 * `seed`, or exact windows replayed from a file. The host memory the run will need is checked first.
 */
import type { DecoderModel } from '../models/index.js';
import { requireTokenizer } from '../models/index.js';
import { calibrationFromPicks, CalibrationSet, readDocuments, sampleCalibration } from '../data/calibration.js';
import { assetPath, DEFAULT_CALIBRATION } from '../util/assets.js';
import { OptionError } from '../util/errors.js';
import { checkCalibrationMemory } from './runner.js';

export interface CalibrationOptions {
  /** .jsonl[.gz] documents or a plain text file (default: the bundled C4 validation sample) */
  file?: string;
  /** exact windows {seqlen, picks: [{doc_index, start}]} over `file`'s documents instead of sampling */
  windowsFile?: string;
  nsamples?: number;
  /** default: min(2048, the model's context) */
  seqlen?: number;
  seed?: number;
  onWindow?: (done: number) => void;
}

export function calibrationFor(model: DecoderModel, o: CalibrationOptions = {}): CalibrationSet {
  const tok = requireTokenizer(model);
  const file = o.file ?? assetPath(DEFAULT_CALIBRATION);
  const docs = readDocuments(file);
  if (o.windowsFile) return calibrationFromPicks(tok, docs, o.windowsFile);
  const nsamples = o.nsamples ?? 128, seqlen = o.seqlen ?? Math.min(2048, model.config.maxSeqLen);
  if (seqlen > model.config.maxSeqLen) throw new OptionError('seqlen', `${seqlen} exceeds the model's context length ${model.config.maxSeqLen}`);
  checkCalibrationMemory(nsamples, seqlen, model.config.dim);
  return sampleCalibration(tok, docs, { nsamples, seqlen, seed: o.seed ?? 0, source: file, onWindow: o.onWindow });
}
