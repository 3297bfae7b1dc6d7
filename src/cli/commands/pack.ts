/**
 * `lithe pack MODEL --sparse [--layout bitmask|nm|block8] [--w-bits 8|4 [--w-group G]] [--dtype f32|f16|bf16] --out DIR`:
 * an existing pruned checkpoint (zeros in its weights) rewritten with its linears stored sparse: float32 values, or
 * int8/int4 codes on an asymmetric per-row-and-group grid (pruned weights stay exactly 0). Everything else is copied in its
 * source type, or rounded to --dtype (the embedding is most of what stays dense). A packed int4 (int8) checkpoint of
 * `lithe quantize` (RTN, GPTQ) packs with --w-bits 4 (8): its codes, scales and zeros are kept exactly, and its group.
 */
import {
  DecoderModel, type FileDType, floatWeight, InputError, isSparseFormat, OptionError, type PackedFormat, packedBytes, SPARSE_FORMAT, type SparseFormat, SafeOutput,
  readModelFiles, sparseCheckpointTensors, sparseFromPacked, sparseSizes, writeHfCheckpoint, writeSparseFromPacked,
} from '../../index.js';
import { CommonFlags, Context, modelForCompression } from './common.js';
import { storageType } from './prune.js';

export interface PackFlags extends CommonFlags {
  sparse?: boolean;
  layout?: string;
  wBits?: number;
  /** default 128; a packed input's group stays */
  wGroup?: number;
  dtype?: string;
  out?: string;
}

/** The N:M pattern every linear of the model follows exactly (2:4 or 4:8 kept), or null. */
async function exactNM(model: DecoderModel): Promise<{ n: 2 | 4; m: 4 | 8 } | null> {
  for (const [n, m] of [[2, 4], [4, 8]] as const) {
    let ok = true;
    for (let i = 0; i < model.blockCount && ok; i++) {
      for (const l of model.linears(i)) {
        const w = await model.backend.read(floatWeight(model.linearWeight(i, l.name)));
        for (let g = 0; g < w.length && ok; g += m) {
          let zeros = 0;
          for (let j = g; j < g + m; j++) if (w[j] === 0) zeros++;
          if (zeros < m - n) ok = false;
        }
        if (!ok) break;
      }
    }
    if (ok) return { n, m };
  }
  return null;
}

/** A packed int4/int8 checkpoint: its codes stored sparse as they are (export/sparse-from-packed.ts). */
async function packFromPacked(modelPath: string, fmt: PackedFormat, tensors: Parameters<typeof sparseFromPacked>[0], f: PackFlags, out: SafeOutput, ctx: Context): Promise<void> {
  if (f.wBits !== fmt.container) throw new OptionError('--w-bits', `${modelPath} holds packed int${fmt.container} codes: pack them with --w-bits ${fmt.container} (the codes are kept as they are)`);
  if (f.layout === 'block8') throw new OptionError('--layout', '1x8 blocks hold float32 values only; a packed checkpoint packs as bitmask or nm');
  if (f.wGroup !== undefined && f.wGroup !== fmt.group) throw new OptionError('--w-group', `${modelPath} holds codes quantized in groups of ${fmt.group}, which are kept as they are; got ${f.wGroup}`);
  const { linears, format } = sparseFromPacked(tensors, fmt, modelPath, f.layout as 'bitmask' | 'nm' | undefined);
  let sparse = 0, packed = 0;
  for (const [base, w] of linears) {
    sparse += sparseCheckpointTensors(base, w).reduce((a, [, t]) => a + t.data.byteLength, 0);
    packed += packedBytes({ bits: fmt.container, rows: w.rows, cols: w.cols, group: fmt.group });
  }
  const layout = format.layout === 'nm' ? `${format.n}:${format.m}` : format.layout;
  ctx.out.line(`sparse ${layout}, the packed int${fmt.container} codes kept (group ${fmt.group}): linears ${(sparse / 2 ** 20).toFixed(2)} MiB vs ${(packed / 2 ** 20).toFixed(2)} MiB packed dense (${(packed / sparse).toFixed(2)}x smaller)`);
  writeSparseFromPacked(modelPath, tensors, linears, format, out, f.dtype as FileDType | undefined);
  out.commit();
  ctx.out.line(`wrote ${f.out}`);
  ctx.out.result({ out: f.out, sparse: format, linear_bytes: sparse, packed_linear_bytes: packed });
}

export async function packCommand(modelPath: string, f: PackFlags, ctx: Context): Promise<void> {
  if (!f.sparse) throw new OptionError('--sparse', 'required: the storage to pack into (only sparse storage is packed by this command; `lithe quantize` writes packed int4/int8)');
  if (!f.out) throw new OptionError('--out', 'required: the folder to write the packed model to');
  if (f.layout !== undefined && !['bitmask', 'nm', 'block8'].includes(f.layout)) throw new OptionError('--layout', `expected bitmask, nm or block8, got "${f.layout}"`);
  if (f.dtype !== undefined && !['f32', 'f16', 'bf16'].includes(f.dtype)) throw new OptionError('--dtype', `expected f32, f16 or bf16, got "${f.dtype}"`);
  if (f.wBits !== undefined && f.wBits !== 8 && f.wBits !== 4) throw new OptionError('--w-bits', `sparse storage holds float32 values, int8 codes (8) or int4 codes (4); got ${f.wBits}`);
  if (f.wBits !== undefined && f.layout === 'block8') throw new OptionError('--w-bits', '1x8 blocks (--layout block8) hold float32 values only');
  const out = SafeOutput.folder(f.out, { inputs: [modelPath, f.tokenizer] });
  try {
    const files = await readModelFiles(modelPath, { tokenizer: f.tokenizer });
    if (files.packed && isSparseFormat(files.packed)) throw new InputError(`${modelPath}: already stored sparse; pack the dense pruned checkpoint`);
    if (files.packed) {
      await packFromPacked(modelPath, files.packed, files.tensors, f, out, ctx);
      return;
    }
    const model = await modelForCompression(files, f);
    try {
      const nm = f.layout === 'bitmask' || f.layout === 'block8' ? null : await exactNM(model);
      if (f.layout === 'nm' && !nm) throw new InputError(`${modelPath}: --layout nm needs every linear to keep at most 2 of every 4 (or 4 of every 8) weights`);
      const layout = f.layout as SparseFormat['layout'] | undefined ?? (nm ? 'nm' : 'bitmask');
      const format: SparseFormat = { format: SPARSE_FORMAT, layout, ...(layout === 'nm' ? { n: nm!.n, m: nm!.m } : {}), values: f.wBits === 8 ? 'q8' : f.wBits === 4 ? 'q4' : 'f32', ...(f.wBits ? { group: f.wGroup ?? 128 } : {}) };
      const dtype = storageType(files.tensors);
      const sizes = await sparseSizes(model, format, dtype === 'f32' ? 4 : 2);
      ctx.out.line(`sparse ${layout === 'nm' ? `${format.n}:${format.m}` : layout}, ${format.values === 'f32' ? 'float32 values' : `${format.values === 'q8' ? 'int8' : 'int4'} codes (group ${f.wGroup ?? 128})`}: linears ${(sizes.sparse / 2 ** 20).toFixed(2)} MiB vs ${(sizes.dense / 2 ** 20).toFixed(2)} MiB dense (${(sizes.dense / sizes.sparse).toFixed(2)}x smaller)`);
      await writeHfCheckpoint(model, files.tensors, out, { lithe_version: 1, source: files.source, packed_from: modelPath, sparse: format }, f.dtype as FileDType | undefined, undefined, format);
      ctx.out.line(`wrote ${f.out}`);
      ctx.out.result({ out: f.out, sparse: format, linear_bytes: sizes.sparse, dense_linear_bytes: sizes.dense });
    } finally {
      await model.backend.dispose();
    }
  } finally {
    out.discard(); // after a failure: its temporary folder and lock; after success: nothing
  }
}
