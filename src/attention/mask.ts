/**
 * Block masks for block-sparse attention: which key blocks each (head, query block) computes. Held as CSR index
 * lists (rowPtr [heads * nb + 1], cols sorted per row: RainFusion2.0 rf_v2's select_idx / select_num_idx, or
 * FlexAttention's kv_indices / kv_num_blocks) and convertible to and from a u8 bitmap [heads, nb, nb] (rf_v3's
 * int8 mask). Dense rows/columns (sinks, text, first frame) are forced with `withDense`.
 */
import type { Backend, BlockMaskTensors } from '../backend/backend.js';

export class BlockMask {
  /** blocks per side */
  readonly nb: number;

  constructor(readonly heads: number, readonly tokens: number, readonly block: number, readonly rowPtr: Int32Array, readonly cols: Int32Array) {
    this.nb = Math.ceil(tokens / block);
    if (rowPtr.length !== heads * this.nb + 1) throw new Error(`BlockMask: rowPtr has ${rowPtr.length} entries, expected ${heads * this.nb + 1}`);
    if (rowPtr[rowPtr.length - 1] !== cols.length) throw new Error('BlockMask: rowPtr does not end at cols.length');
  }

  /** Build from a per-(head, query block) predicate, or a bitmap [heads, nb, nb] (nonzero = computed). */
  static from(heads: number, tokens: number, block: number, keep: ((h: number, qb: number, kb: number) => boolean) | Uint8Array): BlockMask {
    const nb = Math.ceil(tokens / block);
    const test = typeof keep === 'function' ? keep : (h: number, qb: number, kb: number) => keep[(h * nb + qb) * nb + kb] !== 0;
    const rowPtr = new Int32Array(heads * nb + 1);
    const cols: number[] = [];
    for (let h = 0; h < heads; h++) {
      for (let qb = 0; qb < nb; qb++) {
        for (let kb = 0; kb < nb; kb++) if (test(h, qb, kb)) cols.push(kb);
        rowPtr[h * nb + qb + 1] = cols.length;
      }
    }
    return new BlockMask(heads, tokens, block, rowPtr, Int32Array.from(cols));
  }

  /** Per head, per query block: the sorted key blocks of each row (any order in, deduplicated). */
  static fromLists(heads: number, tokens: number, block: number, lists: (h: number, qb: number) => Iterable<number>): BlockMask {
    const nb = Math.ceil(tokens / block);
    const rowPtr = new Int32Array(heads * nb + 1);
    const cols: number[] = [];
    for (let h = 0; h < heads; h++) {
      for (let qb = 0; qb < nb; qb++) {
        const row = [...new Set(lists(h, qb))].sort((a, b) => a - b);
        for (const kb of row) if (kb < 0 || kb >= nb) throw new Error(`BlockMask: key block ${kb} outside 0..${nb - 1}`);
        cols.push(...row);
        rowPtr[h * nb + qb + 1] = cols.length;
      }
    }
    return new BlockMask(heads, tokens, block, rowPtr, Int32Array.from(cols));
  }

  static dense(heads: number, tokens: number, block: number): BlockMask {
    return BlockMask.from(heads, tokens, block, () => true);
  }

  row(h: number, qb: number): Int32Array {
    const i = h * this.nb + qb;
    return this.cols.subarray(this.rowPtr[i]!, this.rowPtr[i + 1]!);
  }

  toBitmap(): Uint8Array {
    const nb = this.nb;
    const bits = new Uint8Array(this.heads * nb * nb);
    for (let r = 0; r < this.heads * nb; r++) for (let i = this.rowPtr[r]!; i < this.rowPtr[r + 1]!; i++) bits[r * nb + this.cols[i]!] = 1;
    return bits;
  }

  /** The same mask with every block that holds a dense token (per `isDense(blockIndex)`) computed as a whole row and column. */
  withDense(isDenseBlock: (b: number) => boolean): BlockMask {
    const dense = Array.from({ length: this.nb }, (_, b) => isDenseBlock(b));
    const bits = this.toBitmap();
    const nb = this.nb;
    for (let h = 0; h < this.heads; h++) {
      for (let b = 0; b < nb; b++) {
        if (!dense[b]) continue;
        for (let x = 0; x < nb; x++) {
          bits[(h * nb + b) * nb + x] = 1;
          bits[(h * nb + x) * nb + b] = 1;
        }
      }
    }
    return BlockMask.from(this.heads, this.tokens, this.block, bits);
  }

  /** Tokens in block b (the last block may be short). */
  blockSize(b: number): number {
    return Math.min(this.block, this.tokens - b * this.block);
  }

  /** Executed density: computed query-key token pairs over all pairs (per head when h is given). */
  density(h?: number): number {
    const nb = this.nb;
    let pairs = 0;
    const h0 = h ?? 0, h1 = h === undefined ? this.heads : h + 1;
    for (let hh = h0; hh < h1; hh++) {
      for (let qb = 0; qb < nb; qb++) {
        let keys = 0;
        for (const kb of this.row(hh, qb)) keys += this.blockSize(kb);
        pairs += keys * this.blockSize(qb);
      }
    }
    return pairs / ((h1 - h0) * this.tokens * this.tokens);
  }

  /** Attention-mass recall per head: the share of the softmax mass (block mass [heads, nb, nb], rows summing to tokens) the mask keeps. */
  recall(mass: Float32Array | Float64Array): Float64Array {
    const nb = this.nb;
    const out = new Float64Array(this.heads);
    for (let h = 0; h < this.heads; h++) {
      let kept = 0, all = 0;
      for (let qb = 0; qb < nb; qb++) {
        const base = (h * nb + qb) * nb;
        for (let kb = 0; kb < nb; kb++) all += mass[base + kb]!;
        for (const kb of this.row(h, qb)) kept += mass[base + kb]!;
      }
      out[h] = all > 0 ? kept / all : 1;
    }
    return out;
  }

  /** Upload as CSR lists; free the returned tensors with `release`. */
  upload(be: Backend): BlockMaskTensors & { release: () => void } {
    const rowPtr = be.alloc([this.rowPtr.length], 'i32');
    const cols = be.alloc([Math.max(1, this.cols.length)], 'i32');
    be.write(rowPtr, this.rowPtr);
    if (this.cols.length) be.write(cols.view([this.cols.length]), this.cols);
    return { rowPtr, cols, release: () => { be.free(rowPtr); be.free(cols); } };
  }

  /** Upload as a u8 bitmap. */
  uploadBitmap(be: Backend): BlockMaskTensors & { release: () => void } {
    const bits = this.toBitmap();
    const bitmap = be.alloc([bits.length], 'u8');
    be.write(bitmap, bits);
    return { bitmap, release: () => be.free(bitmap) };
  }
}
