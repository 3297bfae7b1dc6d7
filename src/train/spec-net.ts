/**
 * Training a conv-net builder network (src/nets: a NetSpec and its Net on a backend): its tensors become parameters
 * (batch norms' running statistics buffers) and the spec runs on the tape with the differentiable ops (conv2d,
 * linear, relu, pooling, batch norm with batch statistics in training, residual adds). The architectures `lithe
 * train` offers are built here: an MLP (784-1024-1024-10 on MNIST) and LeNet-5 (conv 5x5 6 and 16 channels, max
 * pooling, 120-84-classes), both sized from the input shape and class count.
 */
import * as F from '../autograd/functional.js';
import { Param } from '../autograd/param.js';
import type { Tape } from '../autograd/tape.js';
import type { Backend } from '../backend/backend.js';
import { conv1dGeometry, conv2dGeometry, initWeights, isMerge, Net, poolGeometry, upsampleGeometry, walk, type LayerSpec, type NetSpec } from '../nets/index.js';
import * as K from '../kernels/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { OptionError } from '../util/errors.js';
import type { TrainableNet } from './net.js';

export class TrainableSpecNet implements TrainableNet {
  readonly params: Param[];
  private readonly byName = new Map<string, Tensor>();

  constructor(readonly net: Net, readonly arch: string) {
    this.params = [...net.params].map(([name, t]) => new Param(name, t, /(^|\.)running_(mean|var)$/.test(name) ? 'buffer' : 'parameter'));
    for (const [name, t] of net.params) this.byName.set(name, t);
  }

  forward(t: Tape, x: Tensor, train: boolean): Tensor {
    return this.exec(t, this.net.spec.net, '', x, train);
  }

  private param(path: string, n: string): Tensor | null {
    return this.byName.get(path === '' ? n : `${path}.${n}`) ?? null;
  }

  private exec(t: Tape, l: LayerSpec, path: string, x: Tensor, train: boolean): Tensor {
    const child = (name: string) => (path === '' ? name : `${path}.${name}`), N = x.shape[0]!;
    switch (l.type) {
      case 'conv2d': return F.conv2d(t, x, this.param(path, 'weight')!, this.param(path, 'bias'), conv2dGeometry(l));
      case 'conv1d': {
        const g = conv1dGeometry(l), w = this.param(path, 'weight')!;
        const L = K.convOutSize(x.shape[2]!, g.kernel, g.stride, g.dilation, g.pad[0], g.pad[1]), out = t.alloc([N, l.outChannels, L]);
        t.op(K.CONV1D, { x, w, bias: this.param(path, 'bias'), out, p: g }, [out]);
        return out;
      }
      case 'linear': return F.linear(t, x, this.param(path, 'weight')!, this.param(path, 'bias'));
      case 'relu': return F.relu(t, x);
      case 'maxpool2d': return F.maxPool2d(t, x, poolGeometry(l));
      case 'avgpool2d': return F.avgPool2d(t, x, poolGeometry(l));
      case 'flatten': return F.reshape(t, x, [N, x.size / N]);
      case 'batchnorm2d':
        return F.batchNorm(t, x, this.param(path, 'weight')!, this.param(path, 'bias')!, this.param(path, 'running_mean')!, this.param(path, 'running_var')!, train, 0.1, l.eps ?? 1e-5);
      case 'sequential': {
        let v = x;
        l.layers.forEach((c, i) => { v = this.exec(t, c, child(c.name ?? String(i)), v, train); });
        return v;
      }
      case 'residual': {
        const body = this.exec(t, l.body, child('body'), x, train);
        return F.add(t, body, l.shortcut ? this.exec(t, l.shortcut, child('shortcut'), x, train) : x);
      }
      case 'upsample2d': return F.upsample2d(t, x, upsampleGeometry(l));
      case 'sigmoid': return F.sigmoid(t, x);
      case 'add': case 'mul': case 'concat': throw new Error(`a ${l.type} layer outside a graph node`);
      case 'graph': {
        const vals = new Map<string, Tensor>([['input', x]]);
        for (const n of l.nodes) {
          const ins = n.inputs.map((i) => vals.get(i)!);
          let y: Tensor;
          if (!isMerge(n.layer)) y = this.exec(t, n.layer, child(n.name), ins[0]!, train);
          else if (n.layer.type === 'concat') y = F.concatChannels(t, ins);
          else y = ins.slice(1).reduce((a, b) => (n.layer.type === 'add' ? F.add(t, a, b) : F.mul(t, a, b)), ins[0]!);
          vals.set(n.name, y);
        }
        return vals.get(l.output)!;
      }
    }
  }
}

/** The ops a training step of this network runs (forward, backward, AdamW/SGD, utilities). */
export function trainingOps(spec: NetSpec): K.OpDef<any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const ops = new Set<K.OpDef<any>>([K.CROSS_ENTROPY, K.CROSS_ENTROPY_BACKWARD, K.FILL, K.ADD, K.ADAMW_STEP, K.SGD_STEP]); // eslint-disable-line @typescript-eslint/no-explicit-any
  walk(spec, 'net spec', ({ layer }) => {
    const by: Partial<Record<LayerSpec['type'], K.OpDef<any>[]>> = { // eslint-disable-line @typescript-eslint/no-explicit-any
      conv2d: [K.CONV2D, K.CONV2D_BACKWARD], conv1d: [K.CONV1D, K.CONV2D_BACKWARD], linear: [K.LINEAR, K.GEMM, K.COL_SUM], relu: [K.RELU, K.RELU_BACKWARD],
      maxpool2d: [K.MAX_POOL2D, K.MAX_POOL2D_BACKWARD], avgpool2d: [K.AVG_POOL2D, K.AVG_POOL2D_BACKWARD], batchnorm2d: [K.BATCH_NORM, K.BATCH_NORM_BACKWARD],
      residual: [K.COPY_COLUMNS], upsample2d: [K.UPSAMPLE2D, K.UPSAMPLE2D_BACKWARD], sigmoid: [K.SIGMOID, K.SIGMOID_BACKWARD], add: [K.COPY_COLUMNS], mul: [K.COPY_COLUMNS, K.MUL], concat: [K.COPY_COLUMNS],
    };
    for (const op of by[layer.type] ?? []) ops.add(op);
  });
  return [...ops];
}

/** Refuses a backend that lacks an op of this network's training step, naming the ops. */
export function checkTrainable(be: Backend, spec: NetSpec, arch: string): void {
  const missing = trainingOps(spec).filter((op) => !be.supports(op)).map((op) => op.name);
  if (missing.length) throw new OptionError('--backend', `training ${arch} on ${be.description} needs ${missing.join(', ')}, which this backend does not implement yet (use --backend cpu)`);
}

export const ARCHS = ['mlp', 'lenet'] as const;
export type Arch = (typeof ARCHS)[number];

/** The spec of an architecture for inputs of `shape` [C, H, W] and `classes` outputs. */
export function archSpec(arch: string, shape: [number, number, number], classes: number): NetSpec {
  const [C, H, W] = shape;
  if (arch === 'mlp') {
    return { input: shape, net: { type: 'sequential', layers: [{ type: 'flatten' }, { type: 'linear', inFeatures: C * H * W, outFeatures: 1024 }, { type: 'relu' },
      { type: 'linear', inFeatures: 1024, outFeatures: 1024 }, { type: 'relu' }, { type: 'linear', inFeatures: 1024, outFeatures: classes }] } };
  }
  if (arch === 'lenet') {
    const features: LayerSpec[] = [
      { type: 'conv2d', inChannels: C, outChannels: 6, kernel: [5, 5], padding: [2, 2, 2, 2] }, { type: 'relu' }, { type: 'maxpool2d', kernel: [2, 2] },
      { type: 'conv2d', inChannels: 6, outChannels: 16, kernel: [5, 5] }, { type: 'relu' }, { type: 'maxpool2d', kernel: [2, 2] }, { type: 'flatten' },
    ];
    const flat = walk({ input: shape, net: { type: 'sequential', layers: features } }, `--arch lenet on ${C}x${H}x${W} images`)[0]!;
    return { input: shape, net: { type: 'sequential', layers: [...features, { type: 'linear', inFeatures: flat, outFeatures: 120 }, { type: 'relu' },
      { type: 'linear', inFeatures: 120, outFeatures: 84 }, { type: 'relu' }, { type: 'linear', inFeatures: 84, outFeatures: classes }] } };
  }
  throw new OptionError('--arch', `expected ${ARCHS.join(' or ')}, got "${arch}"`);
}

/** A freshly initialised (PyTorch's default init, seeded) trainable network of an architecture. */
export function buildTrainable(be: Backend, arch: string, shape: [number, number, number], classes: number, seed: number): TrainableSpecNet {
  const spec = archSpec(arch, shape, classes);
  checkTrainable(be, spec, arch);
  return new TrainableSpecNet(Net.create(be, spec, initWeights(spec, seed)), `${arch}:${shape.join('x')}:${classes}`);
}
