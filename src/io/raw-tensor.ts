/** A tensor as stored in a file: element type, shape (PyTorch order, outermost first) and its bytes. */
export type FileDType = 'f32' | 'f16' | 'bf16';

/** What a file may hold: float weights, or u8 codes of packed integer weights (models/packed-storage.ts). */
export type RawDType = FileDType | 'u8';

export interface RawTensor {
  dtype: RawDType;
  shape: number[];
  /** little-endian element bytes (a view into the file buffer; not necessarily aligned) */
  data: Uint8Array;
}

/** Tensors by Hugging Face name (model.layers.0.self_attn.q_proj.weight, ...): every reader maps to these names. */
export type TensorMap = Map<string, RawTensor>;

export const FILE_DTYPE_BYTES: Record<RawDType, number> = { f32: 4, f16: 2, bf16: 2, u8: 1 };

/**
 * Index of the first NaN or infinite element of a float tensor, or -1. Looks only at the exponent bits (all ones
 * = not finite), 32 bits at a time, so the scan costs about as much as one copy of the data.
 */
export function firstNonFinite(t: RawTensor): number {
  if (t.dtype === 'u8') return -1;
  const bytes = t.data.byteOffset % 4 === 0 && t.data.byteLength % 4 === 0 ? t.data : padTo4(t.data);
  const w = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (t.dtype === 'f32') {
    for (let i = 0; i < w.length; i++) if ((w[i]! & 0x7f800000) === 0x7f800000) return i;
    return -1;
  }
  const lo = t.dtype === 'f16' ? 0x7c00 : 0x7f80, hi = lo * 0x10000;
  const n = t.data.byteLength / 2;
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if ((x & lo) === lo) return 2 * i;
    if ((x & hi) >>> 0 === hi && 2 * i + 1 < n) return 2 * i + 1;
  }
  return -1;
}

function padTo4(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(data);
  return out;
}
