// MNIST-8 (ONNX model zoo) through Lithe's ONNX import and conv-net builder against onnxruntime on the 10,000 MNIST
// test images: identical predicted labels image by image, logits within 1e-4 (relative, per image), and the
// accuracy the data's SOURCES note records (98.91 %). Also the importer's and the IDX reader's FormatErrors.
import { tempDir } from './temp-dir.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { readMnist } from '../src/data/mnist.js';
import { ONNX_PROTO } from '../src/io/onnx-schema.js';
import { parseOnnx } from '../src/io/onnx.js';
import { Net, accuracy, argmaxRows, importOnnx, predictBatched, readOnnxNet } from '../src/nets/index.js';
import { FormatError } from '../src/util/errors.js';
import { relErr, runLithe, sharedData } from './helpers.js';

const modelData = sharedData('vision/mnist/mnist-8.onnx'), idxData = sharedData('vision/mnist/t10k-images-idx3-ubyte.gz');
const modelFile = modelData.path, mnistDir = idxData.path ? path.dirname(idxData.path) : undefined;
const skipWhy = modelData.skip || idxData.skip;

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => {
  await be.dispose();
  // onnxruntime's native library leaves these in the temp folder (a session id and an empty debug log)
  for (const f of ['.ses', `mat-debug-${process.pid}.log`]) rmSync(path.join(os.tmpdir(), f), { force: true });
});

describe('MNIST-8 ONNX', () => {
  test('Lithe equals onnxruntime on the 10,000 test images', { skip: skipWhy }, async () => {
    const data = readMnist(mnistDir!), imported = readOnnxNet(modelFile!);
    assert.deepEqual(imported.spec.input, [1, 28, 28]);
    const net = Net.create(be, imported.spec, imported.weights, modelFile);
    const pixels = Float32Array.from(data.images); // raw 0-255, as the model expects
    const t0 = performance.now();
    const logits = await predictBatched(net, pixels, data.count, 500);
    const litheMs = performance.now() - t0;
    net.dispose();

    const session = await ort.InferenceSession.create(modelFile!, { intraOpNumThreads: 1 });
    const want = new Float32Array(data.count * 10), t1 = performance.now();
    for (let i = 0; i < data.count; i++) { // the graph fixes batch 1
      const x = new ort.Tensor('float32', pixels.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]);
      const r = await session.run({ [imported.input]: x });
      want.set(r[imported.output]!.data as Float32Array, i * 10);
    }
    const ortMs = performance.now() - t1;
    await session.release();

    const got = argmaxRows(logits, 10), ref = argmaxRows(want, 10);
    const differ = got.findIndex((v, i) => v !== ref[i]);
    assert.equal(differ, -1, `image ${differ}: Lithe predicts ${got[differ]}, onnxruntime ${ref[differ]}`);
    let worst = 0;
    for (let i = 0; i < data.count; i++) worst = Math.max(worst, relErr(logits.subarray(i * 10, i * 10 + 10), want.subarray(i * 10, i * 10 + 10)));
    assert.ok(worst <= 1e-4, `largest per-image relative logit difference ${worst}`);
    const acc = accuracy(got, data.labels);
    console.log(`# MNIST-8 top-1: Lithe ${(100 * acc).toFixed(2)} %, onnxruntime ${(100 * accuracy(ref, data.labels)).toFixed(2)} %; worst per-image logit rel diff ${worst.toExponential(2)}; Lithe ${litheMs.toFixed(0)} ms (batch 500, 2 threads), onnxruntime ${ortMs.toFixed(0)} ms (batch 1)`);
    assert.equal(Math.round(acc * data.count), 9891, 'the SOURCES note measured 98.91 % top-1');
  });

  test('lithe eval classify: 98.91 % on the test images; bad input exits 2 with one line', { skip: skipWhy }, () => {
    const r = runLithe(['eval', 'classify', modelFile!, '--mnist', mnistDir!, '--batch', '500', '--threads', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().images, 10000);
    assert.equal(r.json().top1, 0.9891);
    const bad = runLithe(['eval', 'classify', modelFile!, '--mnist', path.dirname(mnistDir!)]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.trim(), /^lithe: .*t10k-images-idx3-ubyte\.gz: no such file$/);
  });

  test('unsupported graphs are one-line FormatErrors naming the node', { skip: modelData.skip }, () => {
    const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root, Model = root.lookupType('onnx.ModelProto');
    const original = Model.toObject(Model.decode(readFileSync(modelFile!)));
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const variant = (edit: (g: any) => void) => {
      const m = structuredClone(original);
      edit(m.graph);
      return () => importOnnx(parseOnnx('edited.onnx', Model.encode(Model.fromObject(m)).finish()));
    };
    const node = (g: any, name: string) => g.node.find((n: any) => n.name === name);
    const oneLine = (re: RegExp) => (e: Error) => e instanceof FormatError && re.test(e.message) && !e.message.includes('\n');
    assert.throws(variant((g) => { node(g, 'ReLU32').op_type = 'Tanh'; }), oneLine(/edited\.onnx: node ReLU32 \(Tanh\): operator not supported/));
    assert.throws(variant((g) => { node(g, 'Convolution28').attribute.push({ name: 'frobnicate', type: 2, i: 1 }); }), oneLine(/node Convolution28 \(Conv\): attribute frobnicate not supported/));
    assert.throws(variant((g) => { node(g, 'Pooling66').attribute.push({ name: 'ceil_mode', type: 2, i: 1 }); }), oneLine(/node Pooling66 \(MaxPool\): ceil_mode 1 is not supported/));
    assert.throws(variant((g) => { node(g, 'Convolution28').attribute.find((a: any) => a.name === 'auto_pad').s = new TextEncoder().encode('SAME_SIDEWAYS'); }), oneLine(/auto_pad SAME_SIDEWAYS not supported/));
    // a branch is a graph now (test/onnx-graph.test.ts); adding activations of different shapes is refused
    assert.throws(variant((g) => { node(g, 'Plus112').input = ['Convolution110_Output_0', 'ReLU32_Output_0']; }), oneLine(/node Plus112 \(Add\): inputs of shapes \[16,14,14\], \[8,28,28\]: only equal shapes are supported between activations/));
    assert.throws(variant((g) => { node(g, 'ReLU32').input = ['Pooling66_Output_0']; }), oneLine(/node ReLU32 \(Relu\): reads Pooling66_Output_0, which neither the graph input nor an earlier node produces/));
    /* eslint-enable @typescript-eslint/no-explicit-any */
    assert.throws(() => parseOnnx('junk.onnx', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])), oneLine(/junk\.onnx: not an ONNX model/));
  });

  test('IDX files with a wrong magic number, size or label are FormatErrors', () => {
    const dir = tempDir('lithe-mnist-');
    const idx = (words: number[], body: number[]) => {
      const b = Buffer.alloc(4 * words.length + body.length);
      words.forEach((w, i) => b.writeUInt32BE(w, 4 * i));
      Buffer.from(body).copy(b, 4 * words.length);
      return gzipSync(b);
    };
    const write = (images: Buffer, labels: Buffer) => { writeFileSync(path.join(dir, 'x-images-idx3-ubyte.gz'), images); writeFileSync(path.join(dir, 'x-labels-idx1-ubyte.gz'), labels); };
    write(idx([2051, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), idx([2049, 2], [3, 9]));
    assert.deepEqual([...readMnist(dir, 'x').labels], [3, 9]);
    write(idx([2049, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), idx([2049, 2], [3, 9]));
    assert.throws(() => readMnist(dir, 'x'), /x-images-idx3-ubyte\.gz: magic number 2049, expected 2051/);
    write(idx([2051, 2, 2, 2], [1, 2, 3]), idx([2049, 2], [3, 9]));
    assert.throws(() => readMnist(dir, 'x'), /3 pixel bytes, expected 2 x 2 x 2/);
    write(idx([2051, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), idx([2049, 2], [3, 12]));
    assert.throws(() => readMnist(dir, 'x'), /label 12 of image 1 is not a digit/);
    write(Buffer.from('not gzip'), idx([2049, 2], [3, 9]));
    assert.throws(() => readMnist(dir, 'x'), (e: Error) => e instanceof FormatError && /not a gzip file/.test(e.message));
  });
});
