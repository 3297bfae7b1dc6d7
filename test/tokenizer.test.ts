// The llama2.c tokenizer against a direct transcription of llama2.c's O(n^2) merge loop, round trips, and
// the Hugging Face tokenizer against the reference model's oracle ids.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Llama2cTokenizer } from '../src/io/tokenizer-llama2c.js';
import { HfTokenizer } from '../src/io/tokenizer-hf.js';
import { assetPath, DEFAULT_TOKENIZER } from '../src/util/assets.js';
import { rng, seedNote, sharedData } from './helpers.js';

const tok = Llama2cTokenizer.fromFile(assetPath(DEFAULT_TOKENIZER), 512);

/** llama2.c encode(): rescan all pairs each round, merge the best-scoring (first on ties). */
function naiveEncode(t: Llama2cTokenizer, text: string, bos: boolean): number[] {
  const lookup = new Map<string, number>();
  t.pieces.forEach((p, i) => { if (!lookup.has(p)) lookup.set(p, i); });
  const ids: number[] = bos ? [1] : [];
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length) ids.push(lookup.get(' ')!);
  let buf: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i]! & 0xc0) !== 0x80) buf = [];
    buf.push(bytes[i]!);
    if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup.get(Buffer.from(buf).toString('latin1'));
    if (id !== undefined) ids.push(id);
    else for (const b of buf) ids.push(b + 3);
    buf = [];
  }
  for (;;) {
    let best = -1e10, bestId = -1, bestIdx = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = lookup.get(t.pieces[ids[i]!]! + t.pieces[ids[i + 1]!]!);
      if (id !== undefined && t.scores[id]! > best) { best = t.scores[id]!; bestId = id; bestIdx = i; }
    }
    if (bestIdx < 0) break;
    ids.splice(bestIdx, 2, bestId);
  }
  return ids;
}

describe('llama2.c tokenizer', () => {
  test('heap merge equals llama2.c merge loop on random text', () => {
    const r = rng();
    const alphabet = 'abcdefghijklmnopqrstuvwxyz     ,.!?\'"\nABCLily Tom éü中文🙂';
    const chars = [...alphabet];
    for (let n = 0; n < 200; n++) {
      const len = Math.floor(r() * 80);
      const text = Array.from({ length: len }, () => chars[Math.floor(r() * chars.length)]).join('');
      assert.deepEqual(tok.encode(text, { bos: true }), naiveEncode(tok, text, true), `${JSON.stringify(text)} ${seedNote()}`);
    }
  });
  test('decode(encode(text)) round trips, including byte-fallback characters', () => {
    for (const text of ['Once upon a time, there was a little girl named Lily.', 'Zoë said "héllo" 🙂 中文', '', 'a\n\nb']) {
      assert.equal(tok.decode(tok.encode(text, { bos: true })), text);
    }
  });
});

describe('Hugging Face tokenizer', () => {
  const data = sharedData('llm/lithe-ref-a');
  test('lithe-ref-a encodes the oracle prompt to the reference ids', { skip: data.skip }, () => {
    const dir = data.path!;
    const ref = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8'));
    const t = HfTokenizer.fromFiles(`${dir}/tokenizer.json`, `${dir}/tokenizer_config.json`);
    assert.deepEqual(t.encode(ref.logits_oracle.prompt, { bos: true }), ref.logits_oracle.input_ids);
    assert.equal(t.decode(ref.greedy_generation.new_ids), ref.greedy_generation.new_text);
    assert.equal(t.bosId, 1);
    assert.deepEqual(t.eosIds, [2]);
  });
});
