/**
 * MNIST in LeCun's IDX format (gzip): `{split}-images-idx3-ubyte.gz` (magic 2051, count, rows, cols, then u8
 * pixels) and `{split}-labels-idx1-ubyte.gz` (magic 2049, count, then u8 labels), big-endian headers. Sizes, magic
 * numbers, matching counts and labels 0-9 are checked, each with a one-line FormatError naming the file.
 */
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { readFileOrThrow } from '../io/files.js';
import { FormatError } from '../util/errors.js';

export interface MnistSet {
  count: number;
  rows: number;
  cols: number;
  /** count x rows x cols pixels, 0-255 */
  images: Uint8Array;
  labels: Uint8Array;
}

function gunzip(file: string): Uint8Array {
  try {
    return gunzipSync(readFileOrThrow(file));
  } catch (e) {
    if (e instanceof FormatError || (e as { exitCode?: number }).exitCode === 2) throw e;
    throw new FormatError(file, `not a gzip file (${(e as Error).message})`);
  }
}

function header(file: string, buf: Uint8Array, magic: number, words: number): number[] {
  if (buf.byteLength < 4 * words) throw new FormatError(file, `too short for an IDX header (${buf.byteLength} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = Array.from({ length: words }, (_, i) => dv.getUint32(4 * i, false));
  if (h[0] !== magic) throw new FormatError(file, `magic number ${h[0]}, expected ${magic} (IDX ${magic === 2051 ? 'images' : 'labels'})`);
  return h;
}

/** Reads `{dir}/{split}-images-idx3-ubyte.gz` and its labels (split: t10k or train). */
export function readMnist(dir: string, split = 't10k'): MnistSet {
  const imgFile = path.join(dir, `${split}-images-idx3-ubyte.gz`), lblFile = path.join(dir, `${split}-labels-idx1-ubyte.gz`);
  const img = gunzip(imgFile), lbl = gunzip(lblFile);
  const [, count, rows, cols] = header(imgFile, img, 2051, 4) as [number, number, number, number];
  if (img.byteLength !== 16 + count * rows * cols) throw new FormatError(imgFile, `${img.byteLength - 16} pixel bytes, expected ${count} x ${rows} x ${cols}`);
  const [, nLabels] = header(lblFile, lbl, 2049, 2) as [number, number];
  if (lbl.byteLength !== 8 + nLabels) throw new FormatError(lblFile, `${lbl.byteLength - 8} label bytes, expected ${nLabels}`);
  if (nLabels !== count) throw new FormatError(lblFile, `${nLabels} labels for ${count} images in ${imgFile}`);
  const labels = lbl.slice(8), bad = labels.findIndex((v) => v > 9);
  if (bad >= 0) throw new FormatError(lblFile, `label ${labels[bad]} of image ${bad} is not a digit 0-9`);
  return { count, rows, cols, images: img.slice(16), labels };
}
