import { DType, DTYPE_BYTES, elementCount } from './dtype.js';

/**
 * Backend-owned storage. The CPU backend's storage is a byte range of the shared WebAssembly memory; a GPU
 * backend's is a GPUBuffer. Model code never looks inside.
 */
export interface Storage {
  readonly bytes: number;
  freed: boolean;
}

/** A dense, row-major, contiguous tensor: a typed window (offset, shape) onto backend storage. No math here. */
export class Tensor {
  constructor(
    readonly storage: Storage,
    readonly dtype: DType,
    readonly shape: readonly number[],
    /** offset into the storage, in elements of `dtype` */
    readonly offset = 0,
  ) {
    const end = (offset + elementCount(shape)) * DTYPE_BYTES[dtype];
    if (end > storage.bytes) throw new RangeError(`tensor view [${shape}] at ${offset} exceeds its storage (${storage.bytes} bytes)`);
  }

  get size(): number {
    return elementCount(this.shape);
  }

  get byteLength(): number {
    return this.size * DTYPE_BYTES[this.dtype];
  }

  /** Same storage, new shape, starting `offset` elements further in. */
  view(shape: readonly number[], offset = 0): Tensor {
    return new Tensor(this.storage, this.dtype, shape, this.offset + offset);
  }

  /** Rows [start, start + count) of a tensor whose first axis is rows. */
  rows(start: number, count: number): Tensor {
    const rowSize = this.shape.slice(1).reduce((a, b) => a * b, 1);
    return this.view([count, ...this.shape.slice(1)], start * rowSize);
  }
}
