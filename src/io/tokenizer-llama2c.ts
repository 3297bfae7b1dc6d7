/**
 * The llama2.c / SentencePiece-BPE tokenizer (tokenizer.bin: u32 max_token_length, then per token f32 score,
 * u32 length, bytes). Encoding follows llama2.c's `encode`: optional BOS, a dummy-prefix space, UTF-8 code
 * points looked up whole or split into byte tokens (<0xXX> = byte + 3), then repeated merging of the adjacent
 * pair whose concatenation has the highest score (leftmost on ties). The merge loop here uses a heap and a
 * linked list (O(n log n)) instead of llama2.c's rescans (O(n^2)); it picks the same pair at every step.
 * Decoding strips the leading space after BOS and maps <0xXX> pieces back to bytes, as llama2.c does.
 */
import { FormatError } from '../util/errors.js';
import { readFileOrThrow } from './files.js';
import type { TextTokenizer } from './tokenizer.js';

/** Token strings are kept as latin1 strings of their raw bytes, so lookups are byte-exact. */
/** Pieces are byte strings held as latin1 (one char per byte); no Node Buffer, so this also runs in a browser. */
const latin1 = (b: Uint8Array): string => { let s = ''; for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!); return s; };
const toBytes = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export class Llama2cTokenizer implements TextTokenizer {
  private readonly lookup = new Map<string, number>();
  readonly bosId = 1;
  readonly eosIds = [2];

  constructor(readonly pieces: string[], readonly scores: Float32Array) {
    pieces.forEach((p, i) => {
      if (!this.lookup.has(p)) this.lookup.set(p, i);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  static fromFile(file: string, vocabSize: number): Llama2cTokenizer {
    return Llama2cTokenizer.parse(file, readFileOrThrow(file), vocabSize);
  }

  static parse(file: string, buf: Uint8Array, vocabSize: number): Llama2cTokenizer {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.byteLength < 4) throw new FormatError(file, 'too short for a llama2.c tokenizer');
    const maxLen = dv.getUint32(0, true);
    if (maxLen === 0 || maxLen > 1024) throw new FormatError(file, `max_token_length ${maxLen} is not plausible (expected 1..1024): not a llama2.c tokenizer`);
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    let p = 4;
    for (let i = 0; i < vocabSize; i++) {
      if (p + 8 > buf.byteLength) throw new FormatError(file, `truncated at token ${i} of ${vocabSize}`);
      scores[i] = dv.getFloat32(p, true);
      const len = dv.getUint32(p + 4, true);
      p += 8;
      if (len > maxLen || p + len > buf.byteLength) throw new FormatError(file, `token ${i}: length ${len} exceeds max_token_length ${maxLen} or the file`);
      pieces.push(latin1(buf.subarray(p, p + len)));
      p += len;
    }
    return new Llama2cTokenizer(pieces, scores);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (options.bos) ids.push(this.bosId);
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > 0) {
      const space = this.lookup.get(' ');
      if (space !== undefined) ids.push(space);
    }
    for (let i = 0; i < bytes.length; ) {
      let j = i + 1;
      while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80 && j - i < 4) j++;
      const cp = latin1(bytes.subarray(i, j));
      const id = this.lookup.get(cp);
      if (id !== undefined) ids.push(id);
      else for (let k = i; k < j; k++) ids.push(bytes[k]! + 3);
      i = j;
    }
    return this.merge(ids);
  }

  private merge(ids: number[]): number[] {
    const n = ids.length;
    const tok = ids.slice();
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    // max-heap on (score, -position): entries [score, left index, right index, merged id]
    const heap: [number, number, number, number][] = [];
    const better = (a: [number, number, number, number], b: [number, number, number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
    const push = (e: [number, number, number, number]) => {
      heap.push(e);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!better(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    };
    const pop = () => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && better(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && better(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      return top;
    };
    const consider = (a: number) => {
      const b = next[a]!;
      if (a < 0 || b < 0) return;
      const id = this.lookup.get(this.pieces[tok[a]!]! + this.pieces[tok[b]!]!);
      if (id !== undefined) push([this.scores[id]!, a, b, id]);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.length) {
      const [, a, b, id] = pop();
      if (!alive[a] || !alive[b] || next[a] !== b || this.lookup.get(this.pieces[tok[a]!]! + this.pieces[tok[b]!]!) !== id) continue;
      tok[a] = id;
      alive[b] = 0;
      next[a] = next[b]!;
      if (next[b]! >= 0) prev[next[b]!] = a;
      if (prev[a]! >= 0) consider(prev[a]!);
      consider(a);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(tok[i]!);
    return out;
  }

  decode(ids: readonly number[]): string {
    const chunks: number[] = [];
    let prevId = -1;
    for (const id of ids) {
      let piece = this.pieces[id] ?? '';
      if (id === this.bosId || this.eosIds.includes(id)) piece = '';
      else if (prevId === this.bosId && piece.startsWith(' ')) piece = piece.slice(1);
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      chunks.push(...(m ? [parseInt(m[1]!, 16)] : toBytes(piece)));
      prevId = id;
    }
    return new TextDecoder().decode(Uint8Array.from(chunks));
  }
}
