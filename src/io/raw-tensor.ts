/** A tensor as stored in a file: element type, shape (PyTorch order, outermost first) and its bytes. */
export type FileDType = 'f32' | 'f16' | 'bf16';

/** What a file may hold: float weights, or u8 codes of packed integer weights (quant/packed-checkpoint.ts). */
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
