/**
 * The quantized linears of a model as packed codes (the storage `lithe quantize` writes by default), when every
 * grid allows it: natural column order, widths multiples of 32 for int4 / 16 for int8. Null otherwise, or an error
 * when packed storage was asked for explicitly.
 */
import { floatWeight, PACKED_FORMAT, type Model, type PackedFormat } from '../models/index.js';
import type { PackedLinear } from '../tensor/packed.js';
import { OptionError } from '../util/errors.js';
import { packedBytes, packOnGrid } from './pack.js';
import type { QuantGrid } from './weight-quantizer.js';

export interface PackedModel {
  /** by checkpoint name (model.checkpointName) */
  linears: Map<string, PackedLinear>;
  bytes: number;
  /** the same linears as float32 */
  floatBytes: number;
  container: 4 | 8;
  format: PackedFormat;
}

export async function packModelLinears(model: Model, grids: Map<string, QuantGrid | null>, bits: number, group: number, required: boolean): Promise<PackedModel | null> {
  const linears = new Map<string, PackedLinear>();
  let bytes = 0, floatBytes = 0;
  try {
    for (let i = 0; i < model.blockCount; i++) {
      for (const l of model.linears(i)) {
        const base = model.checkpointName(i, l.name);
        if (!grids.has(base)) continue;
        const grid = grids.get(base);
        if (!grid) throw new OptionError('storage', `${base}: act-order with groups has no natural-order grid to pack (use dequantized storage)`);
        const [rows, cols] = l.shape;
        let p: PackedLinear;
        try {
          p = packOnGrid(await model.backend.read(floatWeight(model.linearWeight(i, l.name))), rows, cols, grid, bits);
        } catch (e) {
          throw new OptionError('storage', `${base}: ${(e as Error).message} (use dequantized storage)`);
        }
        linears.set(base, p);
        bytes += packedBytes(p);
        floatBytes += 4 * rows * cols;
      }
    }
  } catch (e) {
    if (required) throw e;
    return null;
  }
  const container: 4 | 8 = bits <= 4 ? 4 : 8;
  return { linears, bytes, floatBytes, container, format: { format: PACKED_FORMAT, bits, container, group: group > 0 ? group : -1 } };
}
