// Bad input through the command line (issue 15): exit code 2 and a one-line message naming the flag, file or
// step, never a stack trace; and inputs that used to be read silently wrong.
import { tempDir } from './temp-dir.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { crc32, deflateSync } from 'node:zlib';
import path from 'node:path';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { readLlama2c } from '../src/models/llama/llama2c.js';
import { checkCalibrationMemory } from '../src/calib/runner.js';
import { sampleCalibration } from '../src/data/calibration.js';
import { Llama2cTokenizer } from '../src/io/tokenizer-llama2c.js';
import { readImage } from '../src/io/image.js';
import { readGguf } from '../src/models/llama/gguf.js';
import { rewriteGguf } from './gguf-writer.js';
import { repoRoot, rng, runLithe } from './helpers.js';
import { TinySpec, tinyWeights, writeTinyModel } from './tiny-models.js';

const MODEL = path.join(repoRoot, 'assets/stories260K/stories260K.bin');
const TEXT = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
const MB = path.join(repoRoot, 'assets/stereo/middlebury');
const tmp = tempDir('lithe-bad-');

/** Runs lithe and checks: exit 2, stderr one line matching `pattern` (no stack trace), stdout empty. */
export function expectInputError(args: string[], pattern: RegExp): string {
  const r = runLithe(args);
  const what = args.join(' ');
  assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.match(r.stderr, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: stack trace in ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line expected, got\n${r.stderr}`);
  return r.stderr;
}

describe('bad flags', () => {
  test('--a-group that does not divide a width: names --a-group and the width', () => {
    // stories260K: dim 64, hidden 172 (172 = 4 * 43), 8 heads of 8
    expectInputError(['eval', 'ppl', MODEL, '--data', TEXT, '--a-bits', '4', '--a-group', '7', '--max-windows', '1'], /--a-group: 7 does not divide the model's hidden size 64/);
    expectInputError(['eval', 'ppl', MODEL, '--data', TEXT, '--a-bits', '4', '--a-group', '8', '--max-windows', '1'], /--a-group: 8 does not divide the model's MLP hidden size .* 172/);
    expectInputError(['quantize', MODEL, '--method', 'rtn', '--a-bits', '4', '--a-group', '16', '--out', path.join(tmp, 'q')], /--a-group: 16 does not divide .* 172/);
  });

  test('a missing required option: the error line and where the help is, not the help text', () => {
    const r = runLithe(['eval', 'ppl', MODEL]);
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr.trim().split('\n'), ["error: required option '--data <file>' not specified", '(see `lithe eval ppl --help`)']);
  });
});

describe('one meaning per flag', () => {
  test('--max-windows with --protocol documents evaluates at most k documents', () => {
    // the text's blank-line blocks are its stories; 3 of them
    const r = runLithe(['eval', 'ppl', MODEL, '--data', TEXT, '--protocol', 'documents', '--max-windows', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json()['documents'], 3);
  });

  test('generate takes the packed-cache pair as --kv-pair; --kv-bits is the integer of eval ppl / quantize', () => {
    const g = runLithe(['generate', MODEL, '--greedy', '--max-tokens', '8', '--kv-pair', 'K8V4', '--json']);
    assert.equal(g.code, 0, g.stderr);
    assert.match(String(g.json()['kv_cache']), /K8V4/);
    expectInputError(['generate', MODEL, '--kv-bits', 'K8V4'], /--kv-bits: generate takes --kv-pair/);
  });
});

describe('bad files', () => {
  test('safetensors metadata values that are not strings: a format error naming the key', () => {
    const trace = path.join(tmp, 'trace.safetensors');
    const t = { dtype: 'f32' as const, shape: [1, 16, 8], data: new Uint8Array(4 * 16 * 8) };
    const bytes = encodeSafetensors(new Map([['q', t], ['k', t], ['v', t]]), { grid: [1, 4, 4] } as unknown as Record<string, string>);
    writeFileSync(trace, bytes);
    expectInputError(['attention', 'bench', '--trace', trace, '--method', 'dense'], /trace\.safetensors: __metadata__ "grid": expected a string, got \[1,4,4\]/);
  });
});

describe('stereo ground truth', () => {
  const left = `${MB}/tsukuba/im3.png`, right = `${MB}/tsukuba/im4.png`;
  const stereo = (...extra: string[]) => runLithe(['stereo', left, right, '--out', path.join(tmp, 'd.png'), '--max-disp', '16', '--paths', '4', '--threads', '2', '--json', '--force', ...extra]);
  const bad1 = (r: ReturnType<typeof runLithe>) => (r.json()['badPixels'] as { threshold: number; all: number }[]).find((b) => b.threshold === 1)!.all;

  test('--gt of another size: exit 2 naming both sizes', () => {
    expectInputError(['stereo', left, right, '--out', path.join(tmp, 'd.png'), '--gt', `${MB}/venus/disp2.pgm`, '--gt-scale', '8'], /--gt: .*disp2\.pgm: size 434x383 differs from the images \(384x288\)/);
  });

  test('--gt-scale comes from the Middlebury layout or a dataset.json; elsewhere it is required', () => {
    // Middlebury v2 stores tsukuba's disparities x16 (its README); --gt-scale 16 is the independent reference
    const given = stereo('--gt', `${MB}/tsukuba/disp3.pgm`, '--gt-scale', '16');
    assert.equal(given.code, 0, given.stderr);
    const inferred = stereo('--gt', `${MB}/tsukuba/disp3.pgm`);
    assert.equal(inferred.code, 0, inferred.stderr);
    assert.equal(inferred.json()['gtScale'], 16);
    assert.equal(bad1(inferred), bad1(given));
    assert.ok(bad1(given) < 20, `bad pixels ${bad1(given)}%`);
    // a copy under another name, with a dataset.json next to it
    const ds = path.join(tmp, 'ds');
    mkdirSync(ds);
    copyFileSync(`${MB}/tsukuba/disp3.pgm`, path.join(ds, 'truth.pgm'));
    writeFileSync(path.join(ds, 'dataset.json'), JSON.stringify({ pairs: [{ name: 't', left, right, gt: 'truth.pgm', gtScale: 16, maxDisp: 16 }] }));
    const manifest = stereo('--gt', path.join(ds, 'truth.pgm'));
    assert.equal(manifest.code, 0, manifest.stderr);
    assert.equal(bad1(manifest), bad1(given));
    // no manifest, no known layout
    const loose = path.join(tmp, 'truth.pgm');
    copyFileSync(`${MB}/tsukuba/disp3.pgm`, loose);
    expectInputError(['stereo', left, right, '--out', path.join(tmp, 'd-loose.png'), '--gt', loose], /--gt-scale: required for .*truth\.pgm/);
  });
});

/** A tiny LLaMA whose widths fit the packed int4 layout (multiples of 32). */
const SPEC: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 96, tied: false };
/** Its parameters by hand: embeddings and lm_head, per layer 2 norms + q,k,v,o + gate,up,down, final norm. */
const SPEC_PARAMS = 2 * 96 * 64 + 2 * (2 * 64 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 128) + 64;

describe('info', () => {
  test('a packed checkpoint counts its linears by their logical shape', () => {
    const dir = writeTinyModel(SPEC, tinyWeights(SPEC, rng(3)));
    const dense = runLithe(['info', dir, '--json']);
    assert.equal(dense.code, 0, dense.stderr);
    assert.equal(dense.json()['parameters'], SPEC_PARAMS);
    const out = path.join(tmp, 'packed');
    const q = runLithe(['quantize', dir, '--method', 'rtn', '--w-bits', '4', '--out', out, '--json']);
    assert.equal(q.code, 0, q.stderr);
    assert.match(readFileSync(path.join(out, 'lithe.json'), 'utf8'), /lithe-packed-v1/);
    const packed = runLithe(['info', out, '--json']);
    assert.equal(packed.code, 0, packed.stderr);
    assert.equal(packed.json()['parameters'], SPEC_PARAMS);
  });

  test('a config that disagrees with the tensors: exit 2 naming the tensor and both shapes', () => {
    const dir = writeTinyModel(SPEC, tinyWeights(SPEC, rng(4)));
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 96 }));
    expectInputError(['info', dir], /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[128,64\], expected \[96,64\]/);
  });
});

describe('non-finite weights', () => {
  /** SPEC with one bad value in model.layers.1.mlp.up_proj.weight (element 5: odd, the high half of a 16-bit pair). */
  function badModel(dtype: TinySpec['dtype'], value: number): string {
    const spec = { ...SPEC, dtype };
    const w = tinyWeights(spec, rng(5));
    w.get('model.layers.1.mlp.up_proj.weight')!.values[5] = value;
    return writeTinyModel(spec, w);
  }
  const named = /tensor model\.layers\.1\.mlp\.up_proj\.weight: element 5 is NaN or infinite/;

  test('are refused at load by every command: exit 2 naming the tensor', () => {
    const nan = badModel('f32', NaN);
    const text = path.join(tmp, 'calib.txt');
    writeFileSync(text, readFileSync(TEXT, 'utf8'));
    expectInputError(['info', nan], named);
    expectInputError(['generate', nan, '--max-tokens', '4'], named);
    expectInputError(['eval', 'ppl', nan, '--data', TEXT], named);
    expectInputError(['prune', nan, '--method', 'sparsegpt', '--sparsity', '0.5', '--out', path.join(tmp, 'p')], named);
    expectInputError(['info', badModel('bf16', Infinity)], named);
    expectInputError(['info', badModel('f16', -Infinity)], named);
  });
});

describe('non-finite results', () => {
  /**
   * stories260K as a Hugging Face folder with layer 0's q_proj and k_proj scaled by 1e30: every weight is finite,
   * but the attention scores (~1e60) overflow float32, so softmax gives NaN from block 0 on.
   */
  function overflowModel(): string {
    const dir = mkdtempSync(path.join(tmp, 'overflow-'));
    const { tensors } = readLlama2c(MODEL);
    for (const m of ['q_proj', 'k_proj']) {
      const t = tensors.get(`model.layers.0.self_attn.${m}.weight`)!;
      const v = new Float32Array(Uint8Array.from(t.data).buffer).map((x) => x * 1e30);
      tensors.set(`model.layers.0.self_attn.${m}.weight`, { ...t, data: new Uint8Array(v.buffer) });
    }
    writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 64, intermediate_size: 172, num_hidden_layers: 5, num_attention_heads: 8,
      num_key_value_heads: 4, vocab_size: 512, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2 }));
    copyFileSync(path.join(repoRoot, 'assets/stories260K/tok512.bin'), path.join(dir, 'tokenizer.bin'));
    return dir;
  }

  test('name the step: perplexity window, document, generation step, calibration block', () => {
    const m = overflowModel();
    expectInputError(['eval', 'ppl', m, '--data', TEXT, '--seqlen', '64', '--max-windows', '3'], /perplexity window 1 of 3: the loss is NaN/);
    expectInputError(['eval', 'ppl', m, '--data', TEXT, '--protocol', 'documents'], /document 1 of \d+: the loss is NaN/);
    expectInputError(['generate', m, '--max-tokens', '4', '--json'], /generation step 1 \(after the prompt\): the logits are NaN or infinite/);
    for (const method of ['sparsegpt', 'wanda']) {
      expectInputError(['prune', m, '--method', method, '--sparsity', '0.5', '--nsamples', '2', '--seqlen', '64', '--out', path.join(tmp, `p-${method}`)],
        /calibration block 0, window 1: the input of self_attn.o_proj is NaN or infinite/);
    }
    expectInputError(['quantize', m, '--method', 'gptq', '--nsamples', '2', '--seqlen', '64', '--out', path.join(tmp, 'q-gptq')], /calibration block 0, window 1: the input of self_attn.o_proj is NaN or infinite/);
  });
});

describe('--nsamples', () => {
  test('host buffers beyond the free memory: exit 2 with the numbers, before sampling', () => {
    // stories260K: hidden size 64, default --seqlen = context 512; 1e9 x 512 x (2 x 64 x 4 + 4) bytes = 246048.0 GiB
    const err = expectInputError(['prune', MODEL, '--method', 'wanda', '--sparsity', '0.5', '--nsamples', '1000000000', '--out', path.join(tmp, 'n')],
      /--nsamples: 1000000000 windows of 512 tokens need 246048\.0 GiB of host buffers .* more than the [\d.]+ GiB free of [\d.]+ GiB/);
    assert.ok(err.length < 400);
  });

  test('the memory bound by hand: 10 windows x 100 tokens x (2 x 64 x 4 + 4) bytes = 516000 bytes', () => {
    checkCalibrationMemory(10, 100, 64, 516000, 2 ** 30);
    assert.throws(() => checkCalibrationMemory(10, 100, 64, 515999, 2 ** 30), /--nsamples: 10 windows of 100 tokens need 0\.000 GiB/);
  });

  test('sampling reports each window drawn (the CLI shows it as a progress line)', () => {
    const tok = Llama2cTokenizer.fromFile(path.join(repoRoot, 'assets/stories260K/tok512.bin'), 512);
    const seen: number[] = [];
    sampleCalibration(tok, [readFileSync(TEXT, 'utf8')], { nsamples: 5, seqlen: 32, seed: 0, onWindow: (d, n) => { assert.equal(n, 5); seen.push(d); } });
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });
});

/** A grey PNG (colour type 0) of `depth` bits built byte by byte from the PNG specification: rows MSB-first, filter 0. */
function greyPng(width: number, values: number[], depth: number): Buffer {
  const height = values.length / width;
  const chunk = (type: string, body: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(tb));
    return Buffer.concat([len, tb, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth; // colour type 0, compression 0, filter 0, interlace 0 follow as zeros
  const rowBytes = Math.ceil((width * depth) / 8);
  const raw = Buffer.alloc(height * (1 + rowBytes));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      raw[y * (1 + rowBytes) + 1 + (bit >> 3)] |= values[y * width + x]! << (8 - depth - (bit & 7));
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

describe('images', () => {
  test('grey PNGs of 1, 2 and 4 bits read as 0..255 (v x 255 / (2^depth - 1))', () => {
    const cases: [number, number[], number[]][] = [
      [1, [0, 1, 1, 0, 1, 0, 0, 1, 1], [0, 255, 255, 0, 255, 0, 0, 255, 255]],
      [2, [0, 1, 2, 3, 3, 2, 1, 0, 0], [0, 85, 170, 255, 255, 170, 85, 0, 0]],
      [4, [0, 1, 7, 8, 15, 14, 3, 12, 5], [0, 17, 119, 136, 255, 238, 51, 204, 85]],
    ];
    for (const [depth, values, expected] of cases) {
      const file = path.join(tmp, `grey${depth}.png`);
      writeFileSync(file, greyPng(3, values, depth));
      const img = readImage(file);
      assert.deepEqual([img.width, img.height, img.channels, img.bitDepth], [3, 3, 1, 8], `${depth}-bit`);
      assert.deepEqual(Array.from(img.data), expected, `${depth}-bit`);
    }
  });
});

/** GPT-2's bytes_to_unicode (openai/gpt-2 encoder.py): printable bytes stand for themselves, the rest map to 256+. */
function byteChars(): string[] {
  const bs = [...Array.from({ length: 94 }, (_, i) => 33 + i), ...Array.from({ length: 12 }, (_, i) => 161 + i), ...Array.from({ length: 82 }, (_, i) => 174 + i)];
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  return cs.map((c) => String.fromCharCode(c));
}

describe('GGUF byte-level BPE: tokenizer.ggml.pre', () => {
  // a 512-token byte-level vocabulary over the stories260K.gguf weights; merges "3 4" first, then "1 2", "12 3"
  const vocab = [...byteChars(), '34', '12', '123'];
  while (vocab.length < 512) vocab.push(`<pad${vocab.length}>`);
  const write = async (pre: string | undefined) => {
    const file = path.join(tmp, `pre-${pre ?? 'none'}.gguf`);
    writeFileSync(file, await rewriteGguf(path.join(repoRoot, 'test/fixtures/stories260K.gguf'), { metadata: {
      'tokenizer.ggml.model': { type: 8, value: 'gpt2' }, 'tokenizer.ggml.tokens': { type: 9, subType: 8, value: vocab },
      'tokenizer.ggml.merges': { type: 9, subType: 8, value: ['3 4', '1 2', '12 3'] }, 'tokenizer.ggml.scores': undefined, 'tokenizer.ggml.token_type': undefined,
      'tokenizer.ggml.pre': pre === undefined ? undefined : { type: 8, value: pre },
    } }));
    return file;
  };
  const pieces = async (file: string, text: string) => (await readGguf(file)).tokenizer!.encode(text, { bos: false }).map((id) => vocab[id]);

  test('qwen2 splits digits one by one, llama-bpe in threes, gpt-2 (and no key) keeps the number whole', async () => {
    // "1234" as one GPT-2 word: the "3 4" merge wins first -> 12 34; LLaMA 3 words 123|4; Qwen2 words 1|2|3|4
    assert.deepEqual(await pieces(await write('qwen2'), '1234'), ['1', '2', '3', '4']);
    assert.deepEqual(await pieces(await write('llama-bpe'), '1234'), ['123', '4']);
    assert.deepEqual(await pieces(await write('gpt-2'), '1234'), ['12', '34']);
    assert.deepEqual(await pieces(await write(undefined), '1234'), ['12', '34']);
    assert.deepEqual(await pieces(await write('qwen2'), 'a 12'), ['a', 'Ġ', '1', '2']);
  });

  test('an unknown tokenizer.ggml.pre: exit 2 naming it', async () => {
    expectInputError(['info', await write('tekken')], /pre-tekken\.gguf: tokenizer\.ggml\.pre "tekken" is not supported \(supported: default, gpt-2/);
  });
});
