// Calibration sampling: CPython-identical random numbers, the reference's windows, and bad calibration text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PythonRandom } from '../src/util/python-random.js';
import { calibrationFromPicks, readDocuments, sampleCalibration } from '../src/data/calibration.js';
import { Llama2cTokenizer } from '../src/io/tokenizer-llama2c.js';
import { HfTokenizer } from '../src/io/tokenizer-hf.js';
import { assetPath, DEFAULT_CALIBRATION, DEFAULT_TOKENIZER } from '../src/util/assets.js';
import { InputError } from '../src/util/errors.js';
import { sharedData } from './helpers.js';
import { tempDir } from './temp-dir.js';

describe('calibration', () => {
  test('PythonRandom reproduces CPython random.seed(0); randint(...)', () => {
    // python3 -c "import random; random.seed(0); print(random.randint(0,1999), random.randint(0,1999), random.randint(0,361), random.randint(0,100), random.randint(5,5+2**20))"
    const r = new PythonRandom(0);
    assert.deepEqual([r.randint(0, 1999), r.randint(0, 1999), r.randint(0, 361), r.randint(0, 100), r.randint(5, 5 + 2 ** 20)], [1729, 788, 215, 5, 542992]);
  });

  test('sampling is deterministic, windows come from the documents, short text is an input error', () => {
    const tok = Llama2cTokenizer.fromFile(assetPath(DEFAULT_TOKENIZER), 512);
    const docs = readDocuments(assetPath(DEFAULT_CALIBRATION));
    assert.equal(docs.length, 2000);
    const a = sampleCalibration(tok, docs, { nsamples: 8, seqlen: 64, seed: 3 });
    const b = sampleCalibration(tok, docs, { nsamples: 8, seqlen: 64, seed: 3 });
    assert.equal(a.digest, b.digest);
    assert.notEqual(sampleCalibration(tok, docs, { nsamples: 8, seqlen: 64, seed: 4 }).digest, a.digest);
    a.picks.forEach((p, i) => assert.deepEqual(Array.from(a.windows[i]!), tok.encode(docs[p.doc_index]!, { bos: true }).slice(p.start, p.start + 64)));
    const tmp = tempDir('lithe-cal-');
    writeFileSync(path.join(tmp, 'picks.json'), JSON.stringify({ seqlen: 64, picks: a.picks }));
    assert.equal(calibrationFromPicks(tok, docs, path.join(tmp, 'picks.json')).digest, a.digest);
    assert.throws(() => sampleCalibration(tok, ['Once upon a time.'], { nsamples: 1, seqlen: 64, seed: 0, source: 'short.txt' }), (e: unknown) => e instanceof InputError && /short\.txt: no document has more than 64 tokens/.test((e as Error).message));
  });

  const data = sharedData('llm/lithe-ref-a');
  test('seed 0 draws exactly the reference calibration windows of lithe-ref-a', { skip: data.skip }, () => {
    const dir = data.path!;
    const ref = JSON.parse(readFileSync(`${dir}/pruning-reference/calibration_windows.json`, 'utf8'));
    const tok = HfTokenizer.fromFiles(`${dir}/tokenizer.json`, `${dir}/tokenizer_config.json`);
    const cal = sampleCalibration(tok, readDocuments(assetPath(DEFAULT_CALIBRATION)), { nsamples: 128, seqlen: 512, seed: 0 });
    assert.equal(cal.digest, ref.calib_tokens_sha256);
  });
});
