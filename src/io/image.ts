/**
 * Image files: PNG through pngjs (8- and 16-bit, any colour type), binary and ASCII PGM/PPM (P2, P3, P5, P6,
 * maxval up to 65535) parsed here. Images come back as interleaved samples; `toGray` converts colour with
 * OpenCV's fixed-point BT.601 weights so Lithe and OpenCV peers see the same grey levels.
 */
import path from 'node:path';
import { PNG } from 'pngjs';
import { FormatError } from '../util/errors.js';
import { readFileOrThrow, writeFileAtomic } from './files.js';

export interface Image {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA) samples per pixel, interleaved row-major */
  channels: 1 | 3 | 4;
  /** 8 or 16 */
  bitDepth: number;
  data: Uint8Array | Uint16Array;
}

export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

export function readImage(file: string): Image {
  const bytes = readFileOrThrow(file);
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) return decodePng(file, bytes);
  if (bytes[0] === 0x50 && bytes[1] !== undefined && '2356'.includes(String.fromCharCode(bytes[1]))) {
    return decodePnm(file, bytes);
  }
  throw new FormatError(file, 'not an image: expected a PNG, PGM (P2/P5) or PPM (P3/P6) file');
}

function decodePng(file: string, bytes: Buffer): Image {
  let png: PNG;
  try {
    png = PNG.sync.read(bytes, { skipRescale: true });
  } catch (e) {
    throw new FormatError(file, `invalid PNG (${(e as Error).message})`);
  }
  const { width, height } = png;
  const meta = png as unknown as { depth: number; colorType: number };
  const rgba = png.data as unknown as Uint8Array | Uint16Array;
  const bitDepth = meta.depth === 16 ? 16 : 8;
  // pngjs expands everything to RGBA (palette and grey included)
  const grey = meta.colorType === 0 || meta.colorType === 4;
  const alpha = meta.colorType === 4 || meta.colorType === 6;
  const channels: 1 | 3 | 4 = grey ? 1 : alpha ? 4 : 3;
  const n = width * height;
  const data = bitDepth === 16 ? new Uint16Array(n * channels) : new Uint8Array(n * channels);
  // skipRescale (kept for 16 bits) also leaves 1/2/4-bit grey at 0..2^depth-1: stretch it to 0..255 (x255, x85, x17)
  const scale = meta.colorType === 0 && meta.depth < 8 ? 255 / (2 ** meta.depth - 1) : 1;
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = rgba[i * 4 + c]! * scale;
  return { width, height, channels, bitDepth, data };
}

/** Netpbm header tokens: magic, width, height, maxval, with # comments; returns the offset after the header. */
function decodePnm(file: string, bytes: Buffer): Image {
  const kind = String.fromCharCode(bytes[1]!);
  const ascii = kind === '2' || kind === '3';
  const channels: 1 | 3 = kind === '2' || kind === '5' ? 1 : 3;
  let pos = 2;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]!))) pos++;
      if (bytes[pos] === 0x23) {
        while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
        continue;
      }
      break;
    }
    const start = pos;
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos]!))) pos++;
    return bytes.subarray(start, pos).toString('latin1');
  };
  const field = (name: string, max: number): number => {
    const t = token();
    const v = Number(t);
    if (!/^\d+$/.test(t) || v < 1 || v > max) throw new FormatError(file, `PNM header field ${name}: expected an integer in 1..${max}, got '${t}'`);
    return v;
  };
  const width = field('width', 1 << 16);
  const height = field('height', 1 << 16);
  const maxval = field('maxval', 65535);
  const bitDepth = maxval > 255 ? 16 : 8;
  const n = width * height * channels;
  const data = bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  if (ascii) {
    for (let i = 0; i < n; i++) {
      const t = token();
      if (t === '') throw new FormatError(file, `PNM data: expected ${n} samples, found ${i}`);
      data[i] = Math.min(Number(t), maxval);
    }
  } else {
    pos++; // exactly one whitespace byte after maxval
    const need = n * (bitDepth === 16 ? 2 : 1);
    if (bytes.length - pos < need) throw new FormatError(file, `PNM data: expected ${need} bytes after the header, found ${bytes.length - pos}`);
    for (let i = 0; i < n; i++) data[i] = bitDepth === 16 ? bytes.readUInt16BE(pos + 2 * i) : bytes[pos + i]!;
  }
  return { width, height, channels, bitDepth, data };
}

/** Grey levels 0..255: colour with OpenCV's cvtColor weights (R 4899, G 9617, B 1868 over 2^14, rounded). */
export function toGray(img: Image): GrayImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const shift = img.bitDepth === 16 ? 8 : 0;
  const c = img.channels;
  for (let i = 0; i < n; i++) {
    if (c === 1) {
      out[i] = img.data[i]! >> shift;
    } else {
      const r = img.data[i * c]! >> shift, g = img.data[i * c + 1]! >> shift, b = img.data[i * c + 2]! >> shift;
      out[i] = (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14;
    }
  }
  return { width: img.width, height: img.height, data: out };
}

export function readGray(file: string): GrayImage {
  return toGray(readImage(file));
}

/** Encode a PNG: `channels` 1 (grey) or 3 (RGB), 8- or 16-bit samples. */
export function encodePng(width: number, height: number, channels: 1 | 3, data: Uint8Array | Uint16Array): Uint8Array {
  const bitDepth = data instanceof Uint16Array ? 16 : 8;
  const colorType = channels === 1 ? 0 : 2;
  const png = new PNG({ width, height, bitDepth, colorType, inputColorType: colorType, inputHasAlpha: false });
  (png as unknown as { data: Uint8Array | Uint16Array }).data = data;
  return PNG.sync.write(png, { bitDepth, colorType, inputColorType: colorType, inputHasAlpha: false });
}

/** Write a PNG atomically (temp file, then rename). */
export function writePng(file: string, width: number, height: number, channels: 1 | 3, data: Uint8Array | Uint16Array): void {
  if (path.extname(file).toLowerCase() !== '.png') throw new FormatError(file, 'output: expected a .png file name');
  writeFileAtomic(file, encodePng(width, height, channels, data));
}
