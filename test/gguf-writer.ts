// A minimal GGUF v3 writer for tests: re-encodes a parsed file's metadata (with its value types) and tensors,
// so the reader can be tested on F16/BF16 files made from the F32 fixture, or on other metadata (tokenizers).
import { gguf } from '@huggingface/gguf';
import { readFileSync } from 'node:fs';
import { f32ToBf16Bits, f32ToF16Bits } from '../src/tensor/dtype.js';

/** A metadata value with its GGUF type: 4 u32, 5 i32, 6 f32, 8 string, 9 array (of subType), ... */
export type Typed = { value: unknown; type: number; subType?: number };

function encodeValue(type: number, v: unknown, out: Buffer[], sub?: number): void {
  const b = (n: number) => Buffer.alloc(n);
  switch (type) {
    case 0: { const x = b(1); x.writeUInt8(v as number); out.push(x); break; }
    case 1: { const x = b(1); x.writeInt8(v as number); out.push(x); break; }
    case 4: { const x = b(4); x.writeUInt32LE(v as number); out.push(x); break; }
    case 5: { const x = b(4); x.writeInt32LE(v as number); out.push(x); break; }
    case 6: { const x = b(4); x.writeFloatLE(v as number); out.push(x); break; }
    case 7: { const x = b(1); x.writeUInt8(v ? 1 : 0); out.push(x); break; }
    case 8: { const s = Buffer.from(v as string, 'utf8'); const x = b(8); x.writeBigUInt64LE(BigInt(s.length)); out.push(x, s); break; }
    case 10: { const x = b(8); x.writeBigUInt64LE(BigInt(v as bigint)); out.push(x); break; }
    case 9: {
      const arr = v as unknown[];
      const h = b(12);
      h.writeUInt32LE(sub!, 0);
      h.writeBigUInt64LE(BigInt(arr.length), 4);
      out.push(h);
      for (const e of arr) encodeValue(sub!, e, out);
      break;
    }
    default: throw new Error(`gguf-writer: value type ${type} not supported`);
  }
}

/** Rewrites a GGUF file with every F32 tensor of 2+ dimensions stored as `dtype` (norm vectors stay F32). */
export async function regguf(src: string, dtype: 'f16' | 'bf16'): Promise<Buffer> {
  return rewriteGguf(src, { dtype });
}

/** Rewrites an F32 GGUF file: tensors of 2+ dimensions as `dtype` (default f32), metadata keys replaced or added (undefined removes). */
export async function rewriteGguf(src: string, o: { dtype?: 'f32' | 'f16' | 'bf16'; metadata?: Record<string, Typed | undefined> }): Promise<Buffer> {
  const dtype = o.dtype ?? 'f32';
  const parsed = await gguf(src, { allowLocalFile: true, typedMetadata: true });
  const file = readFileSync(src);
  const md = { ...(parsed.typedMetadata as unknown as Record<string, Typed | undefined>), ...o.metadata };
  const kv = Object.entries(md).filter((e): e is [string, Typed] => e[1] !== undefined && !['version', 'tensor_count', 'kv_count'].includes(e[0]));
  const parts: Buffer[] = [Buffer.from('GGUF')];
  const head = Buffer.alloc(20);
  head.writeUInt32LE(3, 0);
  head.writeBigUInt64LE(BigInt(parsed.tensorInfos.length), 4);
  head.writeBigUInt64LE(BigInt(kv.length), 12);
  parts.push(head);
  for (const [k, t] of kv) {
    encodeValue(8, k, parts);
    const ty = Buffer.alloc(4);
    ty.writeUInt32LE(t.type);
    parts.push(ty);
    encodeValue(t.type, t.value, parts, t.subType);
  }
  const datas: Buffer[] = [];
  let offset = 0;
  const base = Number(parsed.tensorDataOffset);
  for (const info of parsed.tensorInfos) {
    const n = info.shape.reduce((a, d) => a * Number(d), 1);
    const f32 = new Float32Array(file.buffer.slice(file.byteOffset + base + Number(info.offset), file.byteOffset + base + Number(info.offset) + 4 * n));
    const convert = info.shape.length >= 2 && dtype !== 'f32';
    const data = convert ? Buffer.from(Uint16Array.from(f32, dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits).buffer) : Buffer.from(f32.buffer);
    encodeValue(8, info.name, parts);
    const dims = Buffer.alloc(4 + 8 * info.shape.length + 4 + 8);
    dims.writeUInt32LE(info.shape.length, 0);
    info.shape.forEach((d, i) => dims.writeBigUInt64LE(BigInt(d), 4 + 8 * i));
    dims.writeUInt32LE(convert ? (dtype === 'f16' ? 1 : 30) : 0, 4 + 8 * info.shape.length);
    dims.writeBigUInt64LE(BigInt(offset), 8 + 8 * info.shape.length);
    parts.push(dims);
    const padded = Buffer.concat([data, Buffer.alloc((32 - (data.length % 32)) % 32)]);
    datas.push(padded);
    offset += padded.length;
  }
  const header = Buffer.concat(parts);
  return Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32), ...datas]);
}
