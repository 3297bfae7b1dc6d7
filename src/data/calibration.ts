/**
 * Calibration windows, drawn as the reference code draws them (locuslab/wanda lib/data.py get_c4): with
 * CPython's random seeded once, repeat nsamples times: pick a random document until one has more than seqlen
 * tokens (each document tokenized alone, with BOS), then a random start in [0, len - seqlen - 1]; the window is
 * tokens [start, start + seqlen). With the same tokenizer and seed this reproduces the reference windows
 * exactly. A plain-text file counts as one document.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { FormatError, InputError } from '../util/errors.js';
import { readFileOrThrow, readJson } from '../io/files.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { PythonRandom } from '../util/python-random.js';
import { parseJsonl } from './text.js';

export interface CalibrationPick {
  doc_index: number;
  doc_tokens: number;
  start: number;
}

export interface CalibrationSet {
  seqlen: number;
  windows: Int32Array[];
  picks: CalibrationPick[];
  /** sha256 of the token ids as little-endian int64, sample-major (the reference's calib_tokens_sha256) */
  digest: string;
}

/** Documents of a calibration file: JSONL (optionally gzipped) `field` values, or a whole text file as one. */
export function readDocuments(file: string, field = 'text'): string[] {
  let raw: Uint8Array = readFileOrThrow(file);
  if (file.endsWith('.gz')) {
    try {
      raw = gunzipSync(raw);
    } catch {
      throw new FormatError(file, 'not a valid gzip file');
    }
  }
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  if (!/\.jsonl(\.gz)?$/i.test(file)) {
    if (!text.trim()) throw new InputError(`${file}: empty calibration text`);
    return [text];
  }
  return parseJsonl(file, text, field);
}

export function tokenDigest(windows: Int32Array[]): string {
  const h = createHash('sha256');
  for (const w of windows) {
    const b = new BigInt64Array(w.length);
    for (let i = 0; i < w.length; i++) b[i] = BigInt(w[i]!);
    h.update(new Uint8Array(b.buffer));
  }
  return h.digest('hex');
}

export function sampleCalibration(tok: TextTokenizer, docs: string[], o: { nsamples: number; seqlen: number; seed: number; source?: string; onWindow?: (done: number, total: number) => void }): CalibrationSet {
  const cache = new Map<number, number[]>();
  const encode = (i: number) => {
    let ids = cache.get(i);
    if (!ids) cache.set(i, (ids = tok.encode(docs[i]!, { bos: true })));
    return ids;
  };
  // the reference loop never ends when no document is long enough: check first
  if (!docs.some((_, i) => encode(i).length > o.seqlen)) {
    throw new InputError(`${o.source ?? 'calibration text'}: no document has more than ${o.seqlen} tokens (need at least one calibration window)`);
  }
  const rnd = new PythonRandom(o.seed);
  const windows: Int32Array[] = [];
  const picks: CalibrationPick[] = [];
  for (let s = 0; s < o.nsamples; s++) {
    let doc: number, ids: number[];
    do {
      doc = rnd.randint(0, docs.length - 1);
      ids = encode(doc);
    } while (ids.length <= o.seqlen);
    const start = rnd.randint(0, ids.length - o.seqlen - 1);
    windows.push(Int32Array.from(ids.slice(start, start + o.seqlen)));
    picks.push({ doc_index: doc, doc_tokens: ids.length, start });
    o.onWindow?.(s + 1, o.nsamples);
  }
  return { seqlen: o.seqlen, windows, picks, digest: tokenDigest(windows) };
}

/** Rebuilds a calibration set from a picks file (the reference's calibration_windows.json format). */
export function calibrationFromPicks(tok: TextTokenizer, docs: string[], picksFile: string): CalibrationSet {
  const j = readJson(picksFile) as { seqlen?: unknown; picks?: unknown };
  if (typeof j?.seqlen !== 'number' || !Array.isArray(j.picks)) throw new FormatError(picksFile, 'expected {"seqlen": N, "picks": [{"doc_index", "start"}, ...]}');
  const seqlen = j.seqlen;
  const windows: Int32Array[] = [];
  const picks: CalibrationPick[] = [];
  j.picks.forEach((p: { doc_index?: unknown; start?: unknown }, k: number) => {
    const d = p?.doc_index, st = p?.start;
    if (typeof d !== 'number' || typeof st !== 'number' || d < 0 || d >= docs.length) throw new FormatError(picksFile, `pick ${k}: doc_index must be a document of the calibration text (0..${docs.length - 1})`);
    const ids = tok.encode(docs[d]!, { bos: true });
    if (st < 0 || st + seqlen > ids.length) throw new FormatError(picksFile, `pick ${k}: window [${st}, ${st + seqlen}) is outside document ${d} (${ids.length} tokens): different tokenizer or text?`);
    windows.push(Int32Array.from(ids.slice(st, st + seqlen)));
    picks.push({ doc_index: d, doc_tokens: ids.length, start: st });
  });
  if (!windows.length) throw new FormatError(picksFile, 'no picks');
  return { seqlen, windows, picks, digest: tokenDigest(windows) };
}
