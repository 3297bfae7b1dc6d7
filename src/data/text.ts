/** Evaluation and calibration text: plain files as they are, JSONL corpora (C4-style) as a field joined by blank lines. */
import { FormatError, InputError } from '../util/errors.js';
import { readFileOrThrow } from '../io/files.js';

export interface TextOptions {
  /** JSONL field holding the text; default "text" */
  field?: string;
  /** JSONL: use only the first N documents */
  maxDocs?: number;
}

export function readText(file: string, o: TextOptions = {}): string {
  const raw = readFileOrThrow(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new FormatError(file, 'not UTF-8 text');
  }
  if (!/\.jsonl$/i.test(file)) {
    if (text.length === 0) throw new InputError(`${file}: empty file`);
    return text;
  }
  const docs = parseJsonl(file, text, o.field ?? 'text').slice(0, o.maxDocs ?? Infinity);
  return docs.join('\n\n');
}

/** The string `field` of every line of a JSONL text (blank lines skipped); errors name the file and line. */
export function parseJsonl(file: string, text: string, field: string): string[] {
  const docs: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new FormatError(file, `line ${i + 1}: not valid JSON`);
    }
    const v = (obj as Record<string, unknown>)?.[field];
    if (typeof v !== 'string') throw new FormatError(file, `line ${i + 1}: field "${field}" is missing or not a string`);
    docs.push(v);
  });
  if (!docs.length) throw new InputError(`${file}: no documents`);
  return docs;
}

/** Blank-line-separated blocks, each stripped of surrounding whitespace, empty ones dropped. */
export function splitBlocks(text: string): string[] {
  return text.split('\n\n').map((b) => b.trim()).filter((b) => b.length > 0);
}
