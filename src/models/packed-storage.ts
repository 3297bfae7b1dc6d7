/**
 * Packed checkpoints: the quantized linears of a Hugging Face folder stored as integer codes instead of floats.
 * For a linear `model.layers.i.self_attn.q_proj`: `.qweight` U8 [rows, cols * container / 8] (quant/pack.ts
 * layout: int8 one code per byte; int4 32-column chunks of 16 bytes, low nibble = column c0 + j, high = c0 + 16 + j),
 * `.scales` and `.zeros` F32 [rows, cols / group], w = scale (q - zero). Everything else stays float. lithe.json
 * "packed" names the format; Lithe's loader keeps the codes packed on the backend (the dequant GEMV reads them).
 */
import type { Backend, PackedWeight } from '../backend/backend.js';
import { firstNonFinite, type RawTensor, type TensorMap } from '../io/raw-tensor.js';
import { FormatError } from '../util/errors.js';
import { PackedLinear } from '../tensor/packed.js';

export const PACKED_FORMAT = 'lithe-packed-v1';

export interface PackedFormat {
  format: typeof PACKED_FORMAT;
  /** grid bits (2-8) */
  bits: number;
  /** bits per stored code: 4 or 8 */
  container: 4 | 8;
  /** input columns per group; -1 = per output channel (the group is each linear's own width) */
  group: number;
}

/** The three tensors of a packed linear under `base` (the module name without ".weight"). */
export function packedTensors(base: string, p: PackedLinear): [string, RawTensor][] {
  const ng = p.cols / p.group;
  const f32 = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  return [
    [`${base}.qweight`, { dtype: 'u8', shape: [p.rows, (p.cols * p.bits) / 8], data: p.codes }],
    [`${base}.scales`, { dtype: 'f32', shape: [p.rows, ng], data: f32(p.scales) }],
    [`${base}.zeros`, { dtype: 'f32', shape: [p.rows, ng], data: f32(p.zeros) }],
  ];
}

/** lithe.json "packed", checked. */
export function parsePackedFormat(v: unknown, file: string): PackedFormat | null {
  if (v === undefined || v === null) return null;
  const o = v as Partial<PackedFormat>;
  if (typeof v !== 'object' || o.format !== PACKED_FORMAT) throw new FormatError(file, `field "packed.format" must be "${PACKED_FORMAT}"`);
  if (o.container !== 4 && o.container !== 8) throw new FormatError(file, 'field "packed.container" must be 4 or 8');
  if (!Number.isInteger(o.bits) || o.bits! < 2 || o.bits! > o.container) throw new FormatError(file, `field "packed.bits" must be an integer from 2 to ${o.container}`);
  if (!Number.isInteger(o.group) || (o.group! < 1 && o.group !== -1)) throw new FormatError(file, 'field "packed.group" must be a positive integer or -1 (per channel)');
  return { format: PACKED_FORMAT, bits: o.bits!, container: o.container, group: o.group! };
}

/** Checks the packed linear `base` [rows, cols] of a checkpoint: names, types, shapes, finite scales and zeros. */
export function checkPacked(tensors: TensorMap, base: string, rows: number, cols: number, fmt: PackedFormat, file: string): { q: RawTensor; s: RawTensor; z: RawTensor; group: number } {
  const get = (suffix: string, dtype: string, shape: number[]): RawTensor => {
    const t = tensors.get(`${base}${suffix}`);
    if (!t) throw new FormatError(file, `tensor ${base}${suffix} is missing (lithe.json says the linears are packed)`);
    if (t.dtype !== dtype || t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1]) {
      throw new FormatError(file, `tensor ${base}${suffix} is ${t.dtype} [${t.shape}], expected ${dtype} [${shape}]`);
    }
    const bad = firstNonFinite(t);
    if (bad >= 0) throw new FormatError(file, `tensor ${base}${suffix}: element ${bad} is NaN or infinite`);
    return t;
  };
  const group = fmt.group > 0 ? fmt.group : cols;
  if (cols % group) throw new FormatError(file, `packed.group ${fmt.group} does not divide the ${cols} input columns of ${base}`);
  const ng = cols / group;
  return { q: get('.qweight', 'u8', [rows, (cols * fmt.container) / 8]), s: get('.scales', 'f32', [rows, ng]), z: get('.zeros', 'f32', [rows, ng]), group };
}

/** Uploads the packed linear `base` [rows, cols] from a checkpoint's tensors, checking them first (checkPacked). */
export function uploadPacked(backend: Backend, tensors: TensorMap, base: string, rows: number, cols: number, fmt: PackedFormat, file: string): PackedWeight {
  const { q, s, z, group } = checkPacked(tensors, base, rows, cols, fmt, file);
  const codes = backend.alloc(q.shape, 'u8'), scales = backend.alloc(s.shape), zeros = backend.alloc(z.shape);
  backend.write(codes, q.data);
  backend.write(scales, s.data);
  backend.write(zeros, z.data);
  return { kind: 'packed', shape: [rows, cols], container: fmt.container, group, codes, scales, zeros };
}
