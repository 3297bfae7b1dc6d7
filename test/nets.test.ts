// The conv-net builder: forward passes against a host interpreter of the ops' TS twins, batch-norm folding against
// the unfolded eval-mode net, the safetensors file (round trip and one-line FormatErrors), the linear view.
import { tempDir } from './temp-dir.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { Net, foldBatchNorm, initWeights, linearLayers, loadNet, saveNet, conv1dGeometry, conv2dGeometry, poolGeometry, walk, type LayerSpec, type NetSpec, type Weights } from '../src/nets/index.js';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { FormatError } from '../src/util/errors.js';
import * as ref from './reference.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();

/** The forward pass by the twins on the host (x: [N, ...shape]); independent of Net's execution code. */
function hostForward(l: LayerSpec, p: string, w: Weights, x: Float32Array, N: number, shape: number[]): { y: Float32Array; shape: number[] } {
  const get = (n: string) => w.get(p === '' ? n : `${p}.${n}`) ?? null;
  const out = walk({ input: shape, net: l }, 'test');
  const sub = (n: string) => (p === '' ? n : `${p}.${n}`);
  switch (l.type) {
    case 'conv2d': return { y: ref.conv2dRef(x, get('weight')!, get('bias'), N, shape[0]!, shape[1]!, shape[2]!, l.outChannels, conv2dGeometry(l)), shape: out };
    case 'conv1d': {
      const g = conv1dGeometry(l);
      return { y: ref.conv2dRef(x, get('weight')!, get('bias'), N, shape[0]!, 1, shape[1]!, l.outChannels, { kernel: [1, g.kernel], stride: [1, g.stride], dilation: [1, g.dilation], pad: [0, g.pad[0], 0, g.pad[1]], groups: g.groups }), shape: out };
    }
    case 'linear': return { y: ref.linearRef(x, get('weight')!, get('bias'), N, l.outFeatures, l.inFeatures), shape: out };
    case 'relu': return { y: ref.reluRef(x), shape: out };
    case 'sigmoid': return { y: Float32Array.from(ref.sigmoidRef(x)), shape: out };
    case 'maxpool2d': return { y: ref.maxPool2dRef(x, N * shape[0]!, shape[1]!, shape[2]!, poolGeometry(l)).out, shape: out };
    case 'avgpool2d': return { y: ref.avgPool2dRef(x, N * shape[0]!, shape[1]!, shape[2]!, poolGeometry(l)), shape: out };
    case 'flatten': return { y: x, shape: out };
    case 'batchnorm2d': {
      const eps = l.eps ?? 1e-5, v = get('running_var')!, m = get('running_mean')!, g = get('weight')!, b = get('bias')!;
      const S = shape[1]! * shape[2]!;
      return { y: x.map((xi, i) => { const c = Math.floor(i / S) % l.channels; return (xi - m[c]!) / Math.sqrt(v[c]! + eps) * g[c]! + b[c]!; }), shape: out };
    }
    case 'sequential': {
      let cur = { y: x, shape };
      l.layers.forEach((c, i) => { cur = hostForward(c, sub(c.name ?? String(i)), w, cur.y, N, cur.shape); });
      return cur;
    }
    case 'residual': {
      const b = hostForward(l.body, sub('body'), w, x, N, shape);
      const s = l.shortcut ? hostForward(l.shortcut, sub('shortcut'), w, x, N, shape).y : x;
      return { y: b.y.map((v, i) => v + s[i]!), shape: b.shape };
    }
    case 'upsample2d': return { y: Float32Array.from(ref.upsample2dRef(x, N * shape[0]!, shape[1]!, shape[2]!, { scale: l.scale, mode: l.mode, alignCorners: l.alignCorners })), shape: out };
    case 'add': case 'mul': case 'concat': throw new Error('merge outside a graph');
    case 'graph': {
      const vals = new Map([['input', { y: x, shape }]]);
      for (const n of l.nodes) {
        const ins = n.inputs.map((i) => vals.get(i)!);
        if (n.layer.type === 'add' || n.layer.type === 'mul') {
          const mul = n.layer.type === 'mul';
          vals.set(n.name, { y: ins[0]!.y.map((v, i) => ins.slice(1).reduce((a, b) => (mul ? a * b.y[i]! : a + b.y[i]!), v)), shape: ins[0]!.shape });
        } else if (n.layer.type === 'concat') {
          // item by item: every input's channels of item b, in order
          const parts: number[] = [];
          for (let b = 0; b < N; b++) for (const v of ins) { const per = v.y.length / N; parts.push(...v.y.subarray(b * per, (b + 1) * per)); }
          vals.set(n.name, { y: Float32Array.from(parts), shape: [ins.reduce((a, v) => a + v.shape[0]!, 0), ...ins[0]!.shape.slice(1)] });
        } else vals.set(n.name, hostForward(n.layer, sub(n.name), w, ins[0]!.y, N, ins[0]!.shape));
      }
      return vals.get(l.output)!;
    }
  }
}

const convNet: NetSpec = {
  input: [3, 11, 9],
  net: { type: 'sequential', layers: [
    { type: 'sequential', name: 'features', layers: [
      { type: 'conv2d', inChannels: 3, outChannels: 6, kernel: [3, 3], padding: [1, 1, 1, 1] },
      { type: 'batchnorm2d', channels: 6 },
      { type: 'relu' },
      { type: 'residual',
        body: { type: 'sequential', layers: [
          { type: 'conv2d', inChannels: 6, outChannels: 8, kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], bias: false },
          { type: 'batchnorm2d', channels: 8 }, { type: 'relu' },
          { type: 'conv2d', inChannels: 8, outChannels: 8, kernel: [3, 3], padding: [1, 1, 1, 1], groups: 8 }] },
        shortcut: { type: 'conv2d', inChannels: 6, outChannels: 8, kernel: [1, 1], stride: [2, 2] } },
      { type: 'maxpool2d', kernel: [2, 2] },
      { type: 'avgpool2d', kernel: [2, 1], stride: [1, 1], padding: [1, 0, 0, 0] },
    ] },
    { type: 'flatten' },
    { type: 'linear', name: 'classifier', inFeatures: 8 * 3 * 2, outFeatures: 5 },
  ] },
};
const speechNet: NetSpec = {
  input: [4, 23],
  net: { type: 'sequential', layers: [
    { type: 'conv1d', inChannels: 4, outChannels: 6, kernel: 5, stride: 2, padding: [2, 2] }, { type: 'relu' },
    { type: 'residual', body: { type: 'conv1d', inChannels: 6, outChannels: 6, kernel: 3, dilation: 2, padding: [2, 2], groups: 3 } },
    { type: 'flatten' }, { type: 'linear', inFeatures: 72, outFeatures: 3, bias: false },
  ] },
};

// a U-Net-like graph: a stem read by three branches, a downsampled path upsampled back (nearest and bilinear) and
// concatenated with the stem, a sigmoid gate (mul), a residual add, then a head
const graphNet: NetSpec = {
  input: [2, 6, 5],
  net: { type: 'sequential', layers: [
    { type: 'graph', name: 'body', output: 'sum', nodes: [
      { name: 'stem', inputs: ['input'], layer: { type: 'conv2d', inChannels: 2, outChannels: 4, kernel: [3, 3], padding: [1, 1, 1, 1] } },
      { name: 'down', inputs: ['stem'], layer: { type: 'sequential', layers: [{ type: 'maxpool2d', kernel: [2, 1] }, { type: 'conv2d', inChannels: 4, outChannels: 3, kernel: [1, 1] }, { type: 'relu' }] } },
      { name: 'upn', inputs: ['down'], layer: { type: 'upsample2d', scale: [2, 1], mode: 'nearest' } },
      { name: 'cat', inputs: ['stem', 'upn', 'input'], layer: { type: 'concat' } },
      { name: 'mix', inputs: ['cat'], layer: { type: 'conv2d', inChannels: 9, outChannels: 4, kernel: [1, 1] } },
      { name: 'squash', inputs: ['mix'], layer: { type: 'sigmoid' } },
      { name: 'gate', inputs: ['squash', 'stem'], layer: { type: 'mul' } },
      { name: 'sum', inputs: ['gate', 'stem', 'mix'], layer: { type: 'add' } },
    ] },
    { type: 'upsample2d', scale: [2, 3], mode: 'bilinear' },
    { type: 'relu' }, { type: 'avgpool2d', kernel: [4, 5] }, { type: 'flatten' }, { type: 'linear', inFeatures: 4 * 3 * 3, outFeatures: 3 },
  ] },
};

/** initWeights, with random batch-norm statistics so that the folding has something to fold */
function weightsFor(spec: NetSpec, seed: number): Weights {
  const w = initWeights(spec, seed);
  for (const [name, v] of w) {
    const bn = w.has(name.slice(0, name.lastIndexOf('.')) + '.running_var');
    if (name.endsWith('running_var')) v.set(v.map(() => 0.5 + r()));
    else if (bn) v.set(randn(v.length, r));
  }
  return w;
}

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

async function runNet(spec: NetSpec, w: Weights, x: Float32Array, N: number, on: Backend = be): Promise<Float32Array> {
  const be = on, net = Net.create(be, spec, w), tx = be.alloc([N, ...spec.input]);
  be.write(tx, x);
  const y = net.forward(tx), got = await be.read(y);
  const input = await be.read(tx);
  assert.deepEqual(input, x, 'the forward pass left its input unchanged');
  be.free(y); be.free(tx); net.dispose();
  return got;
}

describe('nets', () => {
  for (const [name, spec] of [['conv net with BN, residual, pools', convNet], ['conv1d net', speechNet], ['graph net with concat, mul, add, upsampling', graphNet]] as const) {
    test(`${name}: forward matches the twins`, async () => {
      const N = 3, w = weightsFor(spec, 7), x = randn(N * spec.input.reduce((a, b) => a * b, 1), r);
      const got = await runNet(spec, w, x, N), want = hostForward(spec.net, '', w, x, N, spec.input);
      assert.equal(got.length, N * want.shape.reduce((a, b) => a * b, 1));
      assert.ok(relErr(got, want.y) < 1e-5, `rel err ${relErr(got, want.y)} ${seedNote()}`);
    });
  }

  test('the forward pass on WebGPU equals the twins', async (t) => {
    const g = await WebGpuBackend.tryCreate();
    if (typeof g === 'string') return t.skip(`no WebGPU adapter: ${g}`);
    try {
      for (const spec of [convNet, speechNet, graphNet]) {
        const N = 2, w = weightsFor(spec, 11), x = randn(N * spec.input.reduce((a, b) => a * b, 1), r);
        const got = await runNet(spec, w, x, N, g), want = hostForward(spec.net, '', w, x, N, spec.input).y;
        assert.ok(relErr(got, want) < 1e-5, `${g.description}: rel err ${relErr(got, want)} ${seedNote()}`);
      }
    } finally {
      await g.dispose();
    }
  });

  test('graph specs: save/load round trip; bad graphs are one-line FormatErrors naming the node', () => {
    const dir = tempDir('lithe-graph-'), file = path.join(dir, 'g.safetensors'), w = weightsFor(graphNet, 5);
    saveNet(file, graphNet, w);
    const back = loadNet(file);
    assert.deepEqual(back.spec, graphNet);
    assert.deepEqual([...back.weights.keys()].sort(), [...w.keys()].sort());
    assert.ok(w.has('body.stem.weight') && w.has('body.down.1.weight') && w.has('body.mix.bias'), 'graph nodes name their parameters');
    const g = graphNet.net as Extract<LayerSpec, { type: 'sequential' }>, body = g.layers[0] as Extract<LayerSpec, { type: 'graph' }>;
    const withNodes = (nodes: unknown[]): NetSpec => ({ input: graphNet.input, net: { ...body, nodes } as LayerSpec });
    const bad: [NetSpec, RegExp][] = [
      [withNodes([...body.nodes.slice(0, 2), { name: 'cat', inputs: ['stem', 'down'], layer: { type: 'concat' } }]), /node cat: concat of \[4,6,5\], \[3,3,5\]: all but the channel axis must agree/],
      [withNodes([{ name: 'a', inputs: ['later'], layer: { type: 'relu' } }]), /node a: input "later" is not an earlier node or "input"/],
      [withNodes([{ name: 'a', inputs: ['input'], layer: { type: 'add' } }]), /node a: add needs two or more inputs/],
      [withNodes([{ name: 'a', inputs: ['input', 'input'], layer: { type: 'relu' } }]), /node a: a relu layer takes one input, got 2/],
      [{ input: [2, 4, 4], net: { type: 'add' } }, /a merge layer belongs in a graph node/],
      [{ input: [2, 4, 4], net: { type: 'upsample2d', scale: [2, 0], mode: 'bilinear' } as LayerSpec }, /scale must be two positive integers/],
    ];
    for (const [spec, re] of bad) {
      assert.throws(() => walk(spec, 'g.json'), (e: Error) => e instanceof FormatError && re.test(e.message) && e.message.startsWith('g.json') && !e.message.includes('\n'), re.source);
    }
  });

  test('folding batch norms into the convolutions keeps the eval-mode outputs', async () => {
    const N = 2, w = weightsFor(convNet, 3), x = randn(N * 3 * 11 * 9, r);
    const f = foldBatchNorm(convNet, w);
    assert.equal(f.folded, 2);
    assert.ok(![...f.weights.keys()].some((k) => k.includes('running')), 'no batch-norm parameters remain');
    assert.ok(f.weights.has('features.3.body.0.bias'), 'the bias-free conv gained a bias');
    const a = await runNet(convNet, w, x, N), b = await runNet(f.spec, f.weights, x, N);
    assert.ok(relErr(b, a) < 1e-5, `folded vs unfolded rel err ${relErr(b, a)}`);
  });

  test('save and load round trip; bad files are one-line FormatErrors', () => {
    const dir = tempDir('lithe-net-'), file = path.join(dir, 'net.safetensors');
    const w = weightsFor(convNet, 5);
    saveNet(file, convNet, w);
    const back = loadNet(file);
    assert.deepEqual(back.spec, convNet);
    for (const [k, v] of w) assert.deepEqual(back.weights.get(k), v, k);
    const bad = (tensors: Map<string, Float32Array>, shapes: (n: string, s: number[]) => number[], meta: string | null) => {
      const f = path.join(dir, 'bad.safetensors'), m = new Map();
      for (const [n, v] of tensors) m.set(n, { dtype: 'f32', shape: shapes(n, [v.length]), data: new Uint8Array(v.buffer) });
      writeFileSync(f, encodeSafetensors(m, meta === null ? {} : { lithe_net: meta }));
      return f;
    };
    const spec = JSON.stringify(convNet), shapeOf = new Map([...walkShapes(convNet)]);
    const exact = (n: string) => shapeOf.get(n)!;
    const missing = new Map(w); missing.delete('classifier.weight');
    assert.throws(() => loadNet(bad(missing, exact, spec)), (e: Error) => e instanceof FormatError && /missing tensor classifier\.weight \[5,48\]/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => loadNet(bad(w, (n) => (n === 'features.0.weight' ? [6, 3, 9] : exact(n)), spec)), /tensor features\.0\.weight: shape \[6,3,9\], expected \[6,3,3,3\]/);
    assert.throws(() => loadNet(bad(new Map([...w, ['extra', new Float32Array(1)]]), (n) => exact(n) ?? [1], spec)), /tensor extra is not a parameter/);
    assert.throws(() => loadNet(bad(w, exact, null)), /no "lithe_net" architecture/);
    const wrongChannels = JSON.stringify({ ...convNet, input: [4, 11, 9] });
    assert.throws(() => loadNet(bad(w, exact, wrongChannels)), /layer features\.0 \(conv2d\): expects input \[3, H, W\], gets \[4,11,9\]/);
    assert.throws(() => loadNet(bad(w, exact, '{"input": [1], "net": {"type": "lstm"}}')), /the root layer \(lstm\): unknown layer type/);
  });

  test('initWeights: PyTorch bounds +-1/sqrt(fan_in), batch-norm identities, the same draws for the same seed', () => {
    const w = initWeights(convNet, 42), again = initWeights(convNet, 42), other = initWeights(convNet, 43);
    const bound = (name: string, fanIn: number) => {
      const v = w.get(name)!, m = v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      assert.ok(m <= 1 / Math.sqrt(fanIn) && m > 0.8 / Math.sqrt(fanIn), `${name}: max |w| ${m} vs bound ${1 / Math.sqrt(fanIn)}`);
    };
    bound('features.0.weight', 3 * 9); // 162 draws: the largest is near the bound
    bound('features.3.body.0.weight', 6 * 9);
    bound('classifier.weight', 48);
    assert.ok(w.get('features.3.body.3.bias')!.every((x) => Math.abs(x) <= 1 / 3), 'depthwise fan_in = 1 * 3 * 3');
    assert.deepEqual([...w.get('features.1.weight')!], new Array(6).fill(1));
    assert.deepEqual([...w.get('features.1.running_mean')!], new Array(6).fill(0));
    assert.deepEqual([...w.get('features.1.running_var')!], new Array(6).fill(1));
    assert.deepEqual(w.get('classifier.weight'), again.get('classifier.weight'));
    assert.notDeepEqual(w.get('classifier.weight'), other.get('classifier.weight'));
  });

  test('the linear view groups layers by the activation they read', () => {
    const groups = linearLayers(convNet);
    const shortcutGroup = groups.find((g) => g.layers.some((l) => l.name === 'features.3.shortcut'))!;
    assert.deepEqual(shortcutGroup.layers.map((l) => [l.name, l.rows, l.cols]), [['features.3.body.0', 8, 54], ['features.3.shortcut', 8, 6]]);
    assert.equal(shortcutGroup.input, 'features.2');
    assert.deepEqual(groups.find((g) => g.input === 'input')!.layers.map((l) => l.name), ['features.0']);
    const dw = groups.flatMap((g) => g.layers).find((l) => l.name === 'features.3.body.3')!;
    assert.deepEqual([dw.rows, dw.cols, dw.groups], [8, 9, 8]);
    assert.equal(groups.find((g) => g.layers[0]!.name === 'classifier')!.input, 'features.5');
    // in a graph: each layer reads the activation its node's input names; a merge is an activation of its own
    assert.deepEqual(linearLayers(graphNet).map((g) => [g.input, g.layers.map((l) => l.name)]),
      [['input', ['body.stem']], ['body.down.0', ['body.down.1']], ['body.cat', ['body.mix']], ['3', ['5']]]);
  });
});

function walkShapes(spec: NetSpec): Map<string, number[]> {
  const m = new Map<string, number[]>();
  walk(spec, 'test', ({ path: p, layer }) => {
    if (layer.type === 'conv2d') { m.set(`${p}.weight`, [layer.outChannels, layer.inChannels / (layer.groups ?? 1), ...layer.kernel]); m.set(`${p}.bias`, [layer.outChannels]); }
    if (layer.type === 'linear') { m.set(`${p}.weight`, [layer.outFeatures, layer.inFeatures]); m.set(`${p}.bias`, [layer.outFeatures]); }
    if (layer.type === 'batchnorm2d') for (const n of ['weight', 'bias', 'running_mean', 'running_var']) m.set(`${p}.${n}`, [layer.channels]);
  });
  return m;
}
