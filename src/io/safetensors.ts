/**
 * safetensors: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, raw data.
 * Every header field is checked against the file before anything is allocated, so a corrupt or hostile
 * header (a tensor claiming a terabyte, offsets past the end, overlapping ranges) fails with a FormatError.
 */
import { FormatError } from '../util/errors.js';
import { FILE_DTYPE_BYTES, RawDType, TensorMap } from './raw-tensor.js';
import { readFileOrThrow, writeFileAtomic } from './files.js';

const DTYPES: Record<string, RawDType> = { F32: 'f32', F16: 'f16', BF16: 'bf16', U8: 'u8' };
const KNOWN_UNSUPPORTED = new Set(['F64', 'I64', 'I32', 'I16', 'I8', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'U16', 'U32', 'U64']);
const MAX_HEADER = 100 * 1024 * 1024;

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

export function parseSafetensors(file: string, buf: Uint8Array): SafetensorsFile {
  if (buf.byteLength < 8) throw new FormatError(file, `too short for a safetensors file (${buf.byteLength} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > buf.byteLength - 8 || headerLen > MAX_HEADER) {
    throw new FormatError(file, `header length ${headerLen} exceeds the file (${buf.byteLength} bytes): truncated or not safetensors`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new FormatError(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new FormatError(file, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      // the format (and the reference parser) allow only a map of strings to strings here
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new FormatError(file, '__metadata__: expected an object of string values');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new FormatError(file, `__metadata__ "${k}": expected a string, got ${JSON.stringify(v)}`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw new FormatError(file, `tensor ${name}: entry is not an object`);
    if (typeof e.dtype !== 'string') throw new FormatError(file, `tensor ${name}: missing dtype`);
    const dtype = DTYPES[e.dtype];
    if (!dtype) {
      const why = KNOWN_UNSUPPORTED.has(e.dtype) ? 'not supported for model weights (expected F32, F16 or BF16)' : 'unknown (expected F32, F16 or BF16)';
      throw new FormatError(file, `tensor ${name}: dtype ${e.dtype} ${why}`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError(file, `tensor ${name}: shape must be a list of non-negative integers`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw new FormatError(file, `tensor ${name}: data_offsets must be [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = off as [number, number];
    const shape = e.shape as number[];
    const bytes = shape.reduce((a, b) => a * b, 1) * FILE_DTYPE_BYTES[dtype];
    if (end > dataLen) throw new FormatError(file, `tensor ${name}: data [${begin}, ${end}) runs past the end of the file (${dataLen} data bytes): truncated`);
    if (bytes !== end - begin) throw new FormatError(file, `tensor ${name}: shape [${shape}] of ${e.dtype} needs ${bytes} bytes but data_offsets span ${end - begin}`);
    ranges.push([begin, end, name]);
    tensors.set(name, { dtype, shape, data: buf.subarray(dataStart + begin, dataStart + end) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw new FormatError(file, `tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap`);
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(file, readFileOrThrow(file));
}

const DTYPE_NAMES: Record<RawDType, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16', u8: 'U8' };

/** Serialises tensors (in the given order, 8-byte aligned data) to safetensors bytes. */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: DTYPE_NAMES[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.byteLength;
  for (const t of tensors.values()) {
    out.set(t.data, p);
    p += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: TensorMap, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
