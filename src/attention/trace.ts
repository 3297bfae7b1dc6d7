/**
 * Attention traces: Q, K, V of one attention call dumped from a real model, so users evaluate the methods on
 * their own heads. Format: a .safetensors file with tensors `q`, `k`, `v` of shape [heads, tokens, head_dim] or
 * [1, heads, tokens, head_dim] (F32, F16 or BF16; the PyTorch BNSD layout of one batch element) and, in its
 * metadata, `grid` = "T,H,W" (latent frames, height, width) and optionally `text` = number of text tokens, which
 * follow the T*H*W video tokens in (t, h, w) raster order. From PyTorch:
 *   safetensors.torch.save_file({"q": q[0], "k": k[0], "v": v[0]}, "trace.safetensors", metadata={"grid": "13,30,45", "text": "226"})
 */
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { RawTensor } from '../io/raw-tensor.js';
import { bf16BitsToF32, f16BitsToF32 } from '../tensor/dtype.js';
import { FormatError } from '../util/errors.js';
import type { AttentionInputs } from './evaluate.js';
import { gridTokens, type VideoGrid } from './layout.js';

function toF32(file: string, name: string, t: RawTensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Float32Array(n);
  if (t.dtype === 'f32') for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  else if (t.dtype === 'f16') for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(2 * i, true));
  else if (t.dtype === 'bf16') for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(dv.getUint16(2 * i, true));
  else throw new FormatError(file, `tensor "${name}": expected F32, F16 or BF16, got ${t.dtype.toUpperCase()}`);
  return out;
}

/** "a,b,c" as three positive integers, or null. */
export function parseTriple(text: string): [number, number, number] | null {
  const parts = text.split(',').map((s) => s.trim());
  return parts.length === 3 && parts.every((p) => /^[1-9]\d*$/.test(p)) ? parts.map(Number) as [number, number, number] : null;
}

/** Read a trace; `grid` overrides (or supplies) the file's grid metadata. */
export function readTrace(file: string, grid?: VideoGrid): AttentionInputs {
  const { tensors, metadata } = readSafetensors(file);
  let g = grid;
  if (!g) {
    if (metadata['grid'] === undefined) throw new FormatError(file, 'metadata "grid": missing; expected "T,H,W" (or pass --shape)');
    const t = parseTriple(metadata['grid']);
    if (!t) throw new FormatError(file, `metadata "grid": expected "T,H,W" (three positive integers), got "${metadata['grid']}"`);
    const [T, H, W] = t;
    const text = Number(metadata['text'] ?? 0);
    if (!Number.isInteger(text) || text < 0) throw new FormatError(file, `metadata "text": expected a non-negative integer, got "${metadata['text']}"`);
    g = { T, H, W, text };
  }
  const N = gridTokens(g);
  let shape: number[] | null = null;
  const data: Float32Array[] = [];
  for (const name of ['q', 'k', 'v']) {
    const t = tensors.get(name);
    if (!t) throw new FormatError(file, `tensor "${name}": missing; expected q, k and v of shape [heads, tokens, head_dim]`);
    const s = t.shape.length === 4 && t.shape[0] === 1 ? t.shape.slice(1) : t.shape;
    if (s.length !== 3) throw new FormatError(file, `tensor "${name}": shape [${t.shape}], expected [heads, tokens, head_dim]`);
    if (s[1] !== N) throw new FormatError(file, `tensor "${name}": ${s[1]} tokens, but grid ${g.T}x${g.H}x${g.W} + ${g.text} text holds ${N}`);
    if (s[2]! % 8) throw new FormatError(file, `tensor "${name}": head dim ${s[2]} is not a multiple of 8`);
    if (shape && shape.join() !== s.join()) throw new FormatError(file, `tensor "${name}": shape [${s}] differs from q's [${shape}]`);
    shape = s;
    data.push(toF32(file, name, t));
  }
  return { grid: g, heads: shape![0]!, headDim: shape![2]!, q: data[0]!, k: data[1]!, v: data[2]! };
}

/** Write inputs as a trace (F32). */
export function writeTrace(file: string, x: AttentionInputs): void {
  const N = gridTokens(x.grid);
  const raw = (a: Float32Array): RawTensor => ({ dtype: 'f32', shape: [x.heads, N, x.headDim], data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  writeSafetensors(file, new Map([['q', raw(x.q)], ['k', raw(x.k)], ['v', raw(x.v)]]), { grid: `${x.grid.T},${x.grid.H},${x.grid.W}`, text: String(x.grid.text) });
}
