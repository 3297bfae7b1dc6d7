// ONNX graphs with branches through Lithe's importer (nets/onnx-import.ts -> a graph layer) against onnxruntime:
// a model written here with protobufjs and the importer's schema (seeded random weights) that has a residual Add,
// a three-way Sum, a Sigmoid gate (Mul of two activations), a Concat along channels of four branches, Resize nearest (asymmetric,
// floor), linear (half_pixel) and linear align_corners (by sizes), BatchNormalization, GlobalAveragePool, Flatten and
// Gemm, a BatchNormalization after a Conv (folded into it); outputs on random inputs must agree within 1e-5 (relative). Unsupported operators are refused in one line
// naming the node, by the API and by the CLI (exit 2).
import { tempDir } from './temp-dir.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import * as ort from 'onnxruntime-node';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { ONNX_PROTO } from '../src/io/onnx-schema.js';
import { parseOnnx } from '../src/io/onnx.js';
import { Net, importOnnx } from '../src/nets/index.js';
import { FormatError } from '../src/util/errors.js';
import { randn, relErr, rng, runLithe, seedNote } from './helpers.js';

const r = rng();
const Model = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
const N = 2, C = 3, H = 8, W = 6;

/* eslint-disable @typescript-eslint/no-explicit-any */
const floatT = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dims, data_type: 1, float_data: Array.from(data) });
const intT = (name: string, dims: number[], data: number[]) => ({ name, dims, data_type: 7, int64_data: data });
const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
const int = (name: string, v: number) => ({ name, type: 2, i: v });
const str = (name: string, v: string) => ({ name, type: 3, s: new TextEncoder().encode(v) });
const flt = (name: string, v: number) => ({ name, type: 1, f: v });
const node = (name: string, op_type: string, input: string[], output: string[], attribute: any[] = []) => ({ name, op_type, input, output, attribute });
const valueInfo = (name: string, dims: number[] | null) => ({ name, type: { tensor_type: { elem_type: 1, ...(dims ? { shape: { dim: dims.map((d) => ({ dim_value: d })) } } : {}) } } });

/** A model of `nodes` on input x [dims] with output y (its shape left to inference). */
function encode(opset: number, nodes: any[], initializer: any[], dims: number[]): Uint8Array {
  const model = {
    ir_version: opset >= 13 ? 8 : 4, opset_import: [{ domain: '', version: opset }], producer_name: 'lithe-test',
    graph: { name: 'branches', node: nodes, initializer, input: [valueInfo('x', dims)], output: [valueInfo('y', null)] },
  };
  return Model.encode(Model.fromObject(model)).finish();
}

/** The test model (opset 13); `edit` may change its nodes before encoding. */
function buildModel(edit: (nodes: any[]) => void = () => {}): Uint8Array {
  const w = (name: string, dims: number[], scale = 0.5) => floatT(name, dims, randn(dims.reduce((a, b) => a * b, 1), r, scale));
  const initializer = [
    w('W1', [4, C, 3, 3]), w('B1', [4]), w('W2', [4, 4, 3, 3]), w('B2', [1, 4, 1, 1]),
    w('gamma', [4]), w('beta', [4]), w('mean', [4], 0.2), floatT('var', [4], Array.from({ length: 4 }, () => 0.5 + r())),
    w('W3', [2, 4, 1, 1]), w('B3', [2]), w('W4', [3, 14, 1, 1]), w('B4', [3]), w('G', [5, 3]), w('GC', [5]),
    w('gamma3', [2]), w('beta3', [2]), w('mean3', [2], 0.2), floatT('var3', [2], Array.from({ length: 2 }, () => 0.5 + r())),
    floatT('scales2', [4], [1, 1, 2, 2]), intT('sizesAC', [4], [N, 4, H, W]),
  ];
  const nodes = [
    node('conv1', 'Conv', ['x', 'W1', 'B1'], ['a'], [ints('pads', [1, 1, 1, 1])]),
    node('relu1', 'Relu', ['a'], ['r']),
    node('conv2', 'Conv', ['r', 'W2'], ['b'], [ints('kernel_shape', [3, 3]), str('auto_pad', 'SAME_UPPER')]),
    node('bias2', 'Add', ['b', 'B2'], ['c']),
    node('residual', 'Add', ['c', 'r'], ['d']),
    node('bn', 'BatchNormalization', ['d', 'gamma', 'beta', 'mean', 'var'], ['e'], [flt('epsilon', 1e-3)]),
    node('squash', 'Sigmoid', ['e'], ['es']),
    node('gate', 'Mul', ['es', 'r'], ['g']),
    node('sum3', 'Sum', ['d', 'g', 'r'], ['s']),
    node('pool', 'MaxPool', ['e'], ['p'], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]),
    node('conv3', 'Conv', ['p', 'W3', 'B3'], ['q0']),
    node('bn3', 'BatchNormalization', ['q0', 'gamma3', 'beta3', 'mean3', 'var3'], ['q']),
    node('up_linear', 'Resize', ['q', '', 'scales2'], ['u'], [str('mode', 'linear'), str('coordinate_transformation_mode', 'half_pixel')]),
    node('up_nearest', 'Resize', ['p', '', 'scales2'], ['v'], [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')]),
    node('up_corners', 'Resize', ['p', '', '', 'sizesAC'], ['al'], [str('mode', 'linear'), str('coordinate_transformation_mode', 'align_corners')]),
    node('cat', 'Concat', ['s', 'u', 'v', 'al'], ['k'], [int('axis', 1)]),
    node('conv4', 'Conv', ['k', 'W4', 'B4'], ['m']),
    node('relu4', 'Relu', ['m'], ['mr']),
    node('gap', 'GlobalAveragePool', ['mr'], ['gp']),
    node('flat', 'Flatten', ['gp'], ['f']),
    node('head', 'Gemm', ['f', 'G', 'GC'], ['y'], [int('transB', 1)]),
  ];
  edit(nodes);
  return encode(13, nodes, initializer, [N, C, H, W]);
}

/** Lithe's output of an imported model and onnxruntime's on the same random input x [dims] */
async function both(bytes: Uint8Array, dims: number[]): Promise<{ got: Float32Array; want: Float32Array; spec: ReturnType<typeof importOnnx>['spec'] }> {
  const imported = importOnnx(parseOnnx('model.onnx', bytes)), net = Net.create(be, imported.spec, imported.weights, 'model.onnx');
  const x = randn(dims.reduce((a, b) => a * b, 1), r, 2), tx = be.alloc(dims);
  be.write(tx, x);
  const ty = net.forward(tx), got = await be.read(ty);
  be.free(ty); be.free(tx); net.dispose();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const res = await session.run({ x: new ort.Tensor('float32', x, dims) });
    return { got, want: res[imported.output]!.data as Float32Array, spec: imported.spec };
  } finally {
    await session.release();
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => {
  await be.dispose();
  for (const f of ['.ses', `mat-debug-${process.pid}.log`]) rmSync(path.join(os.tmpdir(), f), { force: true });
});

describe('ONNX graphs with branches', () => {
  test('residual Add, Sum, Mul, Concat and Resize: Lithe equals onnxruntime', async () => {
    const bytes = buildModel(), imported = importOnnx(parseOnnx('branches.onnx', bytes));
    assert.equal(imported.spec.net.type, 'graph', 'a branching model imports as a graph');
    assert.equal(imported.foldedBatchNorms, 1, 'bn3 (after conv3, read by nothing else) folds; bn (after the residual Add) stays');
    assert.deepEqual(imported.spec.input, [C, H, W]);
    const net = Net.create(be, imported.spec, imported.weights, 'branches.onnx');
    assert.deepEqual(net.outputShape, [5]);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      for (let trial = 0; trial < 3; trial++) {
        const x = randn(N * C * H * W, r, 2), tx = be.alloc([N, C, H, W]);
        be.write(tx, x);
        const ty = net.forward(tx), got = await be.read(ty);
        be.free(ty); be.free(tx);
        const res = await session.run({ x: new ort.Tensor('float32', x, [N, C, H, W]) });
        const want = res[imported.output]!.data as Float32Array;
        assert.equal(got.length, want.length);
        const err = relErr(got, want);
        assert.ok(err < 1e-5, `trial ${trial}: relative difference to onnxruntime ${err} ${seedNote()}`);
      }
    } finally {
      await session.release();
      net.dispose();
    }
  });

  test('Upsample (opset 9) nearest, Resize nearest half_pixel at factor 3 and linear pytorch_half_pixel: equal to onnxruntime', async () => {
    const dims = [2, 2, 3, 5];
    const up9 = encode(9, [node('up', 'Upsample', ['x', 'sc'], ['u'], [str('mode', 'nearest')]), node('act', 'Relu', ['u'], ['y'])], [floatT('sc', [4], [1, 1, 3, 2])], dims);
    const a = await both(up9, dims);
    assert.deepEqual(a.spec.net, { type: 'sequential', layers: [{ type: 'upsample2d', scale: [3, 2], mode: 'nearest' }, { type: 'relu' }] }, 'a chain stays a sequential');
    assert.ok(relErr(a.got, a.want) < 1e-5, `Upsample-9: ${relErr(a.got, a.want)} ${seedNote()}`);
    const resize = encode(13, [
      node('n', 'Resize', ['x', '', 'sc'], ['u'], [str('mode', 'nearest')]),
      node('l', 'Resize', ['x', '', 'sc'], ['v'], [str('mode', 'linear'), str('coordinate_transformation_mode', 'pytorch_half_pixel')]),
      node('join', 'Add', ['u', 'v'], ['y']),
    ], [floatT('sc', [4], [1, 1, 3, 2])], dims);
    const b = await both(resize, dims);
    assert.ok(relErr(b.got, b.want) < 1e-5, `Resize: ${relErr(b.got, b.want)} ${seedNote()}`);
    const linear9 = encode(9, [node('up', 'Upsample', ['x', 'sc'], ['y'], [str('mode', 'linear')])], [floatT('sc', [4], [1, 1, 2, 2])], dims);
    assert.throws(() => importOnnx(parseOnnx('l9.onnx', linear9)), /node up \(Upsample\): linear with coordinate_transformation_mode asymmetric is not supported/);
    const frac = encode(13, [node('r', 'Resize', ['x', '', 'sc'], ['y'], [str('mode', 'nearest')])], [floatT('sc', [4], [1, 1, 1.5, 2])], dims);
    assert.throws(() => importOnnx(parseOnnx('f.onnx', frac)), /node r \(Resize\): scales \[1,1,1\.5,2\]: only integer factors >= 1 are supported/);
  });

  test('an unsupported operator is one line naming the node and its type (API and CLI exit 2)', () => {
    const withTanh = buildModel((nodes) => { nodes.splice(2, 0, { name: 'squash2', op_type: 'Tanh', input: ['r'], output: ['rt'], attribute: [] }); nodes[3].input[0] = 'rt'; });
    assert.throws(() => importOnnx(parseOnnx('tanh.onnx', withTanh)),
      (e: Error) => e instanceof FormatError && /^tanh\.onnx: node squash2 \(Tanh\): operator not supported/.test(e.message) && !e.message.includes('\n'));
    const cubic = buildModel((nodes) => { nodes.find((n) => n.name === 'up_linear').attribute[0] = str('mode', 'cubic'); });
    assert.throws(() => importOnnx(parseOnnx('cubic.onnx', cubic)), /node up_linear \(Resize\): mode cubic is not supported/);
    const dir = tempDir('lithe-onnx-graph-'), file = path.join(dir, 'tanh.onnx');
    writeFileSync(file, withTanh);
    const res = runLithe(['eval', 'classify', file, '--mnist', dir]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr.trim(), /^lithe: .*tanh\.onnx: node squash2 \(Tanh\): operator not supported[^\n]*$/);
  });
});

