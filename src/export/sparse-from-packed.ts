/**
 * A packed int4/int8 checkpoint (lithe.json "packed", models/packed-storage.ts: what `lithe quantize` writes after
 * RTN or GPTQ) rewritten with its linears stored sparse (models/sparse-storage.ts). Each linear keeps the exact
 * codes, scales and zeros the quantizer chose; only the weights whose dequantized value s (q - z) is non-zero (the
 * ones pruning left) are stored. Every other tensor is copied as it is, or rounded to `dtype`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../tensor/dtype.js';
import type { FileDType, RawTensor, TensorMap } from '../io/raw-tensor.js';
import { encodeSafetensors } from '../io/safetensors.js';
import type { SafeOutput } from '../io/safe-write.js';
import { getCode, unpackWeights, type PackedLinear } from '../tensor/packed.js';
import { checkPacked, type PackedFormat } from '../models/packed-storage.js';
import { SPARSE_FORMAT, sparseCheckpointTensors, type SparseFormat } from '../models/sparse-storage.js';
import { keepMaskOf, packBitmaskQ4, packBitmaskQ8, packNMQ4, packNMQ8, type SparseWeight } from '../tensor/sparse-format.js';
import { InputError } from '../util/errors.js';
import { HF_SIDE_FILES } from './hf-checkpoint.js';

interface PackedSource { base: string; p: PackedLinear; keep: Uint8Array }

/** The packed linears of a checkpoint (every `.qweight`), checked, with their kept (non-zero) weights. */
function packedLinears(tensors: TensorMap, fmt: PackedFormat, file: string): PackedSource[] {
  const out: PackedSource[] = [];
  for (const [name, t] of tensors) {
    if (!name.endsWith('.qweight')) continue;
    const base = name.slice(0, -'.qweight'.length), rows = t.shape[0]!, cols = (t.shape[1]! * 8) / fmt.container;
    const { q, s, z, group } = checkPacked(tensors, base, rows, cols, fmt, file);
    const f32 = (r: RawTensor) => new Float32Array(new Uint8Array(r.data).buffer);
    const p: PackedLinear = { bits: fmt.container, rows, cols, group, codes: new Uint8Array(q.data), scales: f32(s), zeros: f32(z) };
    out.push({ base, p, keep: keepMaskOf(unpackWeights(p)) });
  }
  return out;
}

/** The N:M pattern (2:4, then 4:8) every linear's kept weights follow, or null. */
function commonNM(linears: PackedSource[]): { n: 2 | 4; m: 4 | 8 } | null {
  for (const [n, m] of [[2, 4], [4, 8]] as const) {
    const fits = linears.every(({ keep }) => {
      for (let g = 0; g < keep.length; g += m) {
        let k = 0;
        for (let j = g; j < g + m; j++) k += keep[j]!;
        if (k > n) return false;
      }
      return true;
    });
    if (fits) return { n, m };
  }
  return null;
}

/**
 * The sparse linears (by module name, without ".weight") and their format for the packed checkpoint `tensors`:
 * `layout` bitmask or nm (undefined: nm where every linear fits 2:4 or 4:8, else bitmask).
 */
export function sparseFromPacked(tensors: TensorMap, fmt: PackedFormat, file: string, layout: 'bitmask' | 'nm' | undefined): { linears: Map<string, SparseWeight>; format: SparseFormat } {
  if (fmt.group <= 0) throw new InputError(`${file}: packed with one group per output channel; sparse storage takes one group width for every linear (quantize with --w-group)`);
  const sources = packedLinears(tensors, fmt, file);
  const nm = layout === 'bitmask' ? null : commonNM(sources);
  if (layout === 'nm' && !nm) throw new InputError(`${file}: --layout nm needs every linear to keep at most 2 of every 4 (or 4 of every 8) weights`);
  const values = fmt.container === 4 ? 'q4' : 'q8';
  const format: SparseFormat = { format: SPARSE_FORMAT, layout: nm ? 'nm' : 'bitmask', ...(nm ? nm : {}), values, group: fmt.group };
  const linears = new Map<string, SparseWeight>();
  for (const { base, p, keep } of sources) {
    const codes = new Uint8Array(p.rows * p.cols);
    for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) codes[r * p.cols + c] = getCode(p, r, c);
    try {
      linears.set(base, nm ? (values === 'q4' ? packNMQ4 : packNMQ8)(codes, keep, p.rows, p.cols, nm.n, nm.m, p.group, p.scales, p.zeros)
        : (values === 'q4' ? packBitmaskQ4 : packBitmaskQ8)(codes, keep, p.rows, p.cols, p.group, p.scales, p.zeros));
    } catch (e) {
      if (e instanceof RangeError) throw new InputError(`${file}: ${base}: ${e.message}`);
      throw e;
    }
  }
  return { linears, format };
}

function toF32(t: RawTensor): Float32Array {
  const d = new Uint8Array(t.data);
  if (t.dtype === 'f32') return new Float32Array(d.buffer);
  const bits = new Uint16Array(d.buffer);
  return Float32Array.from(bits, t.dtype === 'bf16' ? bf16BitsToF32 : f16BitsToF32);
}

function recode(t: RawTensor, dtype: FileDType): RawTensor {
  if (t.dtype === 'u8' || t.dtype === dtype) return t;
  const v = toF32(t);
  const data = dtype === 'f32' ? new Uint8Array(v.buffer) : new Uint8Array(Uint16Array.from(v, dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits).buffer);
  return { ...t, dtype, data } as RawTensor;
}

/**
 * Writes the sparse checkpoint into `out` (committed by the caller): the source's tensors with each packed linear's
 * `.qweight/.scales/.zeros` replaced by its sparse tensors, the source folder's config and tokenizer files, and its
 * lithe.json with "packed" replaced by "sparse".
 */
export function writeSparseFromPacked(src: string, tensors: TensorMap, linears: Map<string, SparseWeight>, format: SparseFormat, out: SafeOutput, dtype?: FileDType): void {
  const written: TensorMap = new Map();
  for (const [name, t] of tensors) {
    const m = /^(.*)\.(qweight|scales|zeros)$/.exec(name);
    if (m && linears.has(m[1]!)) continue;
    written.set(name, dtype ? recode(t, dtype) : t);
  }
  for (const [base, w] of linears) for (const [n, raw] of sparseCheckpointTensors(base, w)) written.set(n, raw);
  out.put('model.safetensors', encodeSafetensors(written, { format: 'pt' }));
  for (const f of HF_SIDE_FILES) if (existsSync(path.join(src, f))) out.copyIn(path.join(src, f), f);
  const lithe = JSON.parse(readFileSync(path.join(src, 'lithe.json'), 'utf8')) as Record<string, unknown>;
  delete lithe['packed'];
  out.put('lithe.json', JSON.stringify({ ...lithe, packed_from: src, sparse: format }, null, 2));
}
