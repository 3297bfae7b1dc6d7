/**
 * Byte-range allocator over a growable shared WebAssembly.Memory. Blocks are rounded to 64 bytes (cache
 * line, SIMD alignment) and recycled through exact-size free lists: model code allocates the same shapes
 * over and over (weights once, scratch per sequence length), so this stays compact without a general heap.
 */
import { InputError } from '../../util/errors.js';

const ALIGN = 64;
const PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

export class Allocator {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private inUse = 0;
  peak = 0;

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = base;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        const current = have / PAGE;
        if (current + pages > MAX_PAGES) {
          throw new InputError(`out of memory: the CPU backend needs ${(end / 2 ** 30).toFixed(2)} GiB, over the 4 GiB WebAssembly limit`);
        }
        this.memory.grow(Math.max(pages, Math.min(current, MAX_PAGES - current, 1024))); // grow geometrically, 64 MiB steps at most
      }
      this.top = end;
    }
    this.inUse += size;
    this.peak = Math.max(this.peak, this.inUse);
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ptr);
    this.inUse -= size;
  }

  get bytesInUse(): number {
    return this.inUse;
  }
}
