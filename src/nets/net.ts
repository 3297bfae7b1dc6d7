/**
 * A network on a backend: the spec's parameters as named tensors (PyTorch state_dict names) and an inference forward
 * pass through the ops (conv2d, conv1d, linear, relu, max/avg pooling, channel_affine for batch norm in eval mode,
 * add for residuals, add / mul / channel concat for graph merges, upsample2d, sigmoid). Intermediate tensors are
 * freed as soon as the next layer has consumed them; the caller's input is never modified.
 */
import type { Backend } from '../backend/backend.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { FormatError } from '../util/errors.js';
import { conv1dGeometry, conv2dGeometry, isMerge, paramShapes, poolGeometry, upsampleGeometry, walk, type LayerSpec, type NetSpec } from './spec.js';
import * as K from '../kernels/index.js';

/** Host-side parameters by name (float32, row-major in the shapes of `paramShapes`). */
export type Weights = Map<string, Float32Array>;

interface Value { t: Tensor; owned: boolean }

export class Net {
  /** [N, ...] shape of the output of one input, without the batch axis */
  readonly outputShape: number[];
  private readonly bnAffine = new Map<string, { scale: Tensor; shift: Tensor }>();

  private constructor(readonly be: Backend, readonly spec: NetSpec, readonly params: Map<string, Tensor>) {
    this.outputShape = walk(spec, 'net spec');
  }

  /** Uploads `weights` (every parameter of the spec, with its size; FormatErrors name `source`) to the backend. */
  static create(be: Backend, spec: NetSpec, weights: Weights, source = 'net spec'): Net {
    const shapes = paramShapes(spec, source);
    for (const [name, shape] of shapes) {
      const w = weights.get(name), n = shape.reduce((a, b) => a * b, 1);
      if (!w) throw new FormatError(source, `missing parameter ${name} [${shape}]`);
      if (w.length !== n) throw new FormatError(source, `parameter ${name} has ${w.length} values, expected [${shape}] = ${n}`);
    }
    const extra = [...weights.keys()].filter((k) => !shapes.has(k));
    if (extra.length) throw new FormatError(source, `unexpected parameter ${extra[0]} (not in the architecture)`);
    const params = new Map<string, Tensor>();
    for (const [name, shape] of shapes) {
      const t = be.alloc(shape);
      be.write(t, weights.get(name)!);
      params.set(name, t);
    }
    const net = new Net(be, spec, params);
    net.refreshBatchNorm(weights);
    return net;
  }

  /** Recomputes batch norms' eval-mode scale = w / sqrt(var + eps) and shift = b - mean * scale from host weights. */
  refreshBatchNorm(weights: Weights): void {
    walk(this.spec, 'net spec', ({ path, layer }) => {
      if (layer.type !== 'batchnorm2d') return;
      const get = (n: string) => weights.get(`${path}.${n}`)!, eps = layer.eps ?? 1e-5;
      const w = get('weight'), b = get('bias'), mean = get('running_mean'), v = get('running_var');
      const scale = w.map((wi, c) => wi / Math.sqrt(v[c]! + eps)), shift = b.map((bi, c) => bi - mean[c]! * scale[c]!);
      const old = this.bnAffine.get(path);
      const pair = old ?? { scale: this.be.alloc([layer.channels]), shift: this.be.alloc([layer.channels]) };
      this.be.write(pair.scale, scale);
      this.be.write(pair.shift, shift);
      this.bnAffine.set(path, pair);
    });
  }

  /** x [N, ...spec.input] -> a new tensor [N, ...outputShape] (the caller frees it). */
  forward(x: Tensor): Tensor {
    const want = this.spec.input.join(',');
    if (x.shape.slice(1).join(',') !== want) throw new Error(`Net.forward: input [${x.shape}] is not [N, ${want}]`);
    const y = this.exec(this.spec.net, '', { t: x, owned: false });
    return y.owned ? y.t : this.copy(y.t);
  }

  /** Host copies of every parameter (after training, for saving). */
  async weights(): Promise<Weights> {
    const out: Weights = new Map();
    for (const [name, t] of this.params) out.set(name, await this.be.read(t));
    return out;
  }

  dispose(): void {
    for (const t of this.params.values()) this.be.free(t);
    for (const { scale, shift } of this.bnAffine.values()) { this.be.free(scale); this.be.free(shift); }
  }

  private param(path: string, n: string): Tensor | null {
    return this.params.get(path === '' ? n : `${path}.${n}`) ?? null;
  }

  private copy(t: Tensor): Tensor {
    const out = this.be.alloc(t.shape);
    ops.channelAffine(this.be, t.view([t.size, 1]), null, null, out.view([t.size, 1]));
    return out;
  }

  /** A new value from a layer that read `x`: frees x if it was ours. */
  private next(x: Value, t: Tensor): Value {
    if (x.owned) this.be.free(x.t);
    return { t, owned: true };
  }

  private exec(l: LayerSpec, path: string, x: Value): Value {
    const be = this.be, N = x.t.shape[0]!;
    const child = (name: string) => (path === '' ? name : `${path}.${name}`);
    switch (l.type) {
      case 'conv2d': {
        const p = conv2dGeometry(l), [, , H, W] = x.t.shape as number[];
        const out = be.alloc([N, l.outChannels, ...walkShape(l, [l.inChannels, H!, W!]).slice(1)]);
        ops.conv2d(be, x.t, this.param(path, 'weight')!, this.param(path, 'bias'), out, p);
        return this.next(x, out);
      }
      case 'conv1d': {
        const out = be.alloc([N, ...walkShape(l, [l.inChannels, x.t.shape[2]!])]);
        ops.conv1d(be, x.t, this.param(path, 'weight')!, this.param(path, 'bias'), out, conv1dGeometry(l));
        return this.next(x, out);
      }
      case 'linear': {
        const out = be.alloc([N, l.outFeatures]);
        ops.linear(be, x.t, this.param(path, 'weight')!, this.param(path, 'bias'), out);
        return this.next(x, out);
      }
      case 'relu': {
        if (x.owned) { ops.relu(be, x.t, x.t); return x; }
        const out = be.alloc(x.t.shape);
        ops.relu(be, x.t, out);
        return this.next(x, out);
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const p = poolGeometry(l), out = be.alloc([N, ...walkShape(l, x.t.shape.slice(1))]);
        if (l.type === 'maxpool2d') ops.maxPool2d(be, x.t, out, p);
        else ops.avgPool2d(be, x.t, out, p);
        return this.next(x, out);
      }
      case 'flatten':
        return { t: x.t.view([N, x.t.size / N]), owned: x.owned };
      case 'batchnorm2d': {
        const { scale, shift } = this.bnAffine.get(path)!, out = x.owned ? x.t : be.alloc(x.t.shape);
        ops.channelAffine(be, x.t, scale, shift, out);
        return x.owned ? x : this.next(x, out);
      }
      case 'sequential': {
        let v = x;
        l.layers.forEach((c, i) => { v = this.exec(c, child(c.name ?? String(i)), v); });
        return v;
      }
      case 'residual': {
        const input = { t: x.t, owned: false };
        let y = this.exec(l.body, child('body'), input);
        if (!y.owned) y = { t: this.copy(y.t), owned: true };
        const s = l.shortcut ? this.exec(l.shortcut, child('shortcut'), input) : input;
        ops.addInPlace(be, y.t, s.t);
        if (s.owned) be.free(s.t);
        if (x.owned) be.free(x.t);
        return y;
      }
      case 'sigmoid': {
        const out = be.alloc(x.t.shape);
        ops.sigmoid(be, x.t, out);
        return this.next(x, out);
      }
      case 'upsample2d': {
        const [, C, H, W] = x.t.shape as number[], p = upsampleGeometry(l), out = be.alloc([N, C!, H! * p.scale[0], W! * p.scale[1]]);
        ops.upsample2d(be, x.t, out, p);
        return this.next(x, out);
      }
      case 'add':
      case 'mul':
      case 'concat':
        throw new Error(`Net: a ${l.type} layer outside a graph node`);
      case 'graph':
        return this.execGraph(l, path, x);
    }
  }

  /**
   * A graph's nodes in order. Every node output is owned (a view or pass-through is copied) and freed after its last
   * reader; a node that is the last reader of an owned value takes it over (so relu can work in place).
   */
  private execGraph(l: Extract<LayerSpec, { type: 'graph' }>, path: string, x: Value): Value {
    const be = this.be, N = x.t.shape[0]!;
    const uses = new Map<string, number>([[l.output, 1]]);
    for (const n of l.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    const vals = new Map<string, Value>([['input', x]]);
    const release = (name: string) => {
      const left = uses.get(name)! - 1;
      uses.set(name, left);
      const v = vals.get(name);
      if (left === 0 && v) { if (v.owned) be.free(v.t); vals.delete(name); }
    };
    for (const node of l.nodes) {
      const where = path === '' ? node.name : `${path}.${node.name}`;
      let y: Value;
      if (isMerge(node.layer)) {
        const ins = node.inputs.map((n) => vals.get(n)!.t);
        const shape = node.layer.type === 'concat' ? [N, ins.reduce((a, t) => a + t.shape[1]!, 0), ...ins[0]!.shape.slice(2)] : ins[0]!.shape;
        const out = be.alloc(shape);
        if (node.layer.type === 'concat') {
          const per = out.size / N;
          let col = 0;
          for (const t of ins) {
            const w = t.size / N;
            ops.run(be, K.COPY_COLUMNS, { src: t.view([N, w]), srcCol: 0, dst: out.view([N, per]), dstCol: col, cols: w, accumulate: false });
            col += w;
          }
        } else {
          ops.channelAffine(be, ins[0]!.view([ins[0]!.size, 1]), null, null, out.view([out.size, 1]));
          for (const t of ins.slice(1)) {
            if (node.layer.type === 'add') ops.addInPlace(be, out, t);
            else ops.run(be, K.MUL, { a: out, b: t });
          }
        }
        y = { t: out, owned: true };
        for (const n of node.inputs) release(n);
      } else {
        const name = node.inputs[0]!, v = vals.get(name)!;
        const take = v.owned && uses.get(name) === 1;
        if (take) { vals.delete(name); uses.set(name, 0); }
        y = this.exec(node.layer, where, take ? v : { t: v.t, owned: false });
        if (!y.owned) y = { t: this.copy(y.t), owned: true };
        if (!take) release(name);
      }
      vals.set(node.name, y);
    }
    const out = vals.get(l.output)!;
    for (const [name, v] of vals) if (name !== l.output && v.owned) be.free(v.t);
    return out;
  }
}

/** Output shape of one leaf layer for an input shape (without the batch axis). */
function walkShape(l: LayerSpec, inShape: number[]): number[] {
  return walk({ input: inShape, net: l }, 'net spec');
}
