/**
 * The architecture of a small network as plain JSON (what a `lithe_net` file stores): Sequential and Residual blocks
 * of layers with PyTorch's meanings (Conv2d, Conv1d, Linear, ReLU, MaxPool2d, AvgPool2d, Flatten, BatchNorm2d in eval
 * mode). Residual is the Add: out = body(x) + (shortcut ? shortcut(x) : x). Parameters are named as PyTorch's
 * state_dict names them: a Sequential's children by their `name` or index, a Residual's by `body` / `shortcut`, so a
 * root Sequential of [{name: 'features', ...}] gives `features.0.weight`. `walk` checks a spec against an input shape
 * (one-line FormatErrors naming the layer) and yields every layer with its path, input and output shapes.
 * Graph is the general form (what ONNX imports of branching models become): named nodes in topological order, each
 * reading earlier nodes' outputs (or `input`, the graph's input) through one layer, or merging two or more of them
 * with add, mul (elementwise, equal shapes) or concat (along channels). A node's parameters are named
 * `<graph path>.<node name>.<param>`. Upsample2d is nn.Upsample with integer scale factors.
 */
import { FormatError } from '../util/errors.js';
import { convOutSize } from '../kernels/conv/params.js';
import { poolOutShape } from '../kernels/pool/params.js';
import type { Upsample2dParams } from '../kernels/upsample/params.js';

export type Pair = [number, number];
export type Pads = [number, number, number, number];

export type LayerSpec = { name?: string } & (
  | { type: 'conv2d'; inChannels: number; outChannels: number; kernel: Pair; stride?: Pair; dilation?: Pair; padding?: Pads; groups?: number; bias?: boolean }
  | { type: 'conv1d'; inChannels: number; outChannels: number; kernel: number; stride?: number; dilation?: number; padding?: Pair; groups?: number; bias?: boolean }
  | { type: 'linear'; inFeatures: number; outFeatures: number; bias?: boolean }
  | { type: 'relu' }
  | { type: 'sigmoid' }
  | { type: 'maxpool2d'; kernel: Pair; stride?: Pair; padding?: Pads }
  | { type: 'avgpool2d'; kernel: Pair; stride?: Pair; padding?: Pads; countIncludePad?: boolean }
  | { type: 'flatten' }
  | { type: 'batchnorm2d'; channels: number; eps?: number }
  | { type: 'sequential'; layers: LayerSpec[] }
  | { type: 'residual'; body: LayerSpec; shortcut?: LayerSpec }
  | { type: 'upsample2d'; scale: Pair; mode: 'nearest' | 'bilinear'; alignCorners?: boolean }
  | { type: 'add' | 'mul' | 'concat' }
  | { type: 'graph'; nodes: GraphNode[]; output: string }
);

/** One node of a graph: `inputs` name earlier nodes or `input`; merge layers (add, mul, concat) take two or more. */
export interface GraphNode { name: string; inputs: string[]; layer: LayerSpec }

export const MERGE_TYPES = ['add', 'mul', 'concat'] as const;
export const isMerge = (l: LayerSpec): l is Extract<LayerSpec, { type: 'add' | 'mul' | 'concat' }> => (MERGE_TYPES as readonly string[]).includes(l.type);

export const upsampleGeometry = (l: Extract<LayerSpec, { type: 'upsample2d' }>): Upsample2dParams => ({ scale: l.scale, mode: l.mode, alignCorners: l.alignCorners ?? false });

/** A network: its layers and the shape of one input (without the batch axis), e.g. [1, 28, 28]. */
export interface NetSpec { input: number[]; net: LayerSpec }

/** Parameter shapes of a layer, by their last name part (weight, bias, running_mean, running_var). */
export function layerParams(l: LayerSpec): [string, number[]][] {
  switch (l.type) {
    case 'conv2d': return withBias(l.bias, [l.outChannels, l.inChannels / (l.groups ?? 1), ...l.kernel], l.outChannels);
    case 'conv1d': return withBias(l.bias, [l.outChannels, l.inChannels / (l.groups ?? 1), l.kernel], l.outChannels);
    case 'linear': return withBias(l.bias, [l.outFeatures, l.inFeatures], l.outFeatures);
    case 'batchnorm2d': return ['weight', 'bias', 'running_mean', 'running_var'].map((n) => [n, [l.channels]]);
    default: return [];
  }
}
const withBias = (bias: boolean | undefined, w: number[], n: number): [string, number[]][] => (bias === false ? [['weight', w]] : [['weight', w], ['bias', [n]]]);

export const conv2dGeometry = (l: Extract<LayerSpec, { type: 'conv2d' }>) => ({
  kernel: l.kernel, stride: l.stride ?? [1, 1] as Pair, dilation: l.dilation ?? [1, 1] as Pair, pad: l.padding ?? [0, 0, 0, 0] as Pads, groups: l.groups ?? 1,
});
export const conv1dGeometry = (l: Extract<LayerSpec, { type: 'conv1d' }>) => ({
  kernel: l.kernel, stride: l.stride ?? 1, dilation: l.dilation ?? 1, pad: l.padding ?? [0, 0] as Pair, groups: l.groups ?? 1,
});
export const poolGeometry = (l: Extract<LayerSpec, { type: 'maxpool2d' | 'avgpool2d' }>) => ({
  kernel: l.kernel, stride: l.stride ?? l.kernel, pad: l.padding ?? [0, 0, 0, 0] as Pads, countIncludePad: l.type === 'avgpool2d' ? l.countIncludePad ?? false : false,
});

/** inShapes: every input's shape (a merge node's several; else [inShape]) */
export interface Visit { path: string; layer: LayerSpec; inShape: number[]; outShape: number[]; inShapes?: number[][] }

const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isNat = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const ints = (v: unknown, n: number, ok: (x: unknown) => boolean) => Array.isArray(v) && v.length === n && v.every(ok);

/**
 * Checks the spec (field types, channel counts against the incoming shape) and calls `visit` for every layer in
 * execution order (blocks after their children). Returns the output shape. `source` names the file in errors.
 */
export function walk(spec: NetSpec, source: string, visit: (v: Visit) => void = () => {}): number[] {
  if (!Array.isArray(spec.input) || !spec.input.every(isPosInt)) throw new FormatError(source, `input must be a list of positive integers, got ${JSON.stringify(spec.input)}`);
  return walkLayer(spec.net, '', spec.input, source, visit);
}

function walkLayer(l: LayerSpec, path: string, inShape: number[], source: string, visit: (v: Visit) => void): number[] {
  const where = path === '' ? 'the root layer' : `layer ${path}`;
  const fail = (problem: string): never => { throw new FormatError(source, `${where} (${(l as { type?: unknown }).type}): ${problem}`); };
  if (typeof l !== 'object' || l === null) fail('not an object');
  const shape = inShape.join(',');
  const child = (name: string) => (path === '' ? name : `${path}.${name}`);
  let out: number[];
  switch (l.type) {
    case 'conv2d':
    case 'conv1d': {
      const two = l.type === 'conv2d';
      const g = two ? conv2dGeometry(l) : conv1dGeometry(l);
      if (!isPosInt(l.inChannels) || !isPosInt(l.outChannels) || !isPosInt(g.groups) || l.inChannels % g.groups || l.outChannels % g.groups) fail('inChannels, outChannels and groups must be positive integers, the channels multiples of groups');
      if (two ? !(ints(g.kernel, 2, isPosInt) && ints(g.stride, 2, isPosInt) && ints(g.dilation, 2, isPosInt) && ints(g.pad, 4, isNat))
        : !(isPosInt(g.kernel) && isPosInt(g.stride) && isPosInt(g.dilation) && ints(g.pad, 2, isNat))) fail('kernel, stride, dilation must be positive and padding non-negative integers');
      if (inShape.length !== (two ? 3 : 2) || inShape[0] !== l.inChannels) fail(`expects input [${l.inChannels}, ${two ? 'H, W' : 'L'}], gets [${shape}]`);
      if (two) {
        const c = g as ReturnType<typeof conv2dGeometry>;
        out = [l.outChannels, convOutSize(inShape[1]!, c.kernel[0], c.stride[0], c.dilation[0], c.pad[0], c.pad[2]), convOutSize(inShape[2]!, c.kernel[1], c.stride[1], c.dilation[1], c.pad[1], c.pad[3])];
      } else {
        const c = g as ReturnType<typeof conv1dGeometry>;
        out = [l.outChannels, convOutSize(inShape[1]!, c.kernel, c.stride, c.dilation, c.pad[0], c.pad[1])];
      }
      if (out.some((d) => d < 1)) fail(`the kernel does not fit the input [${shape}]`);
      break;
    }
    case 'linear':
      if (!isPosInt(l.inFeatures) || !isPosInt(l.outFeatures)) fail('inFeatures and outFeatures must be positive integers');
      if (inShape.length !== 1 || inShape[0] !== l.inFeatures) fail(`expects input [${l.inFeatures}], gets [${shape}] (add a flatten before it)`);
      out = [l.outFeatures];
      break;
    case 'relu':
    case 'sigmoid':
      out = inShape;
      break;
    case 'upsample2d':
      if (!ints(l.scale, 2, isPosInt) || (l.mode !== 'nearest' && l.mode !== 'bilinear') || (l.alignCorners !== undefined && typeof l.alignCorners !== 'boolean')) fail('scale must be two positive integers, mode nearest or bilinear, alignCorners a boolean');
      if (l.mode === 'nearest' && l.alignCorners) fail('alignCorners applies to bilinear only');
      if (inShape.length !== 3) fail(`expects input [C, H, W], gets [${shape}]`);
      out = [inShape[0]!, inShape[1]! * l.scale[0], inShape[2]! * l.scale[1]];
      break;
    case 'add':
    case 'mul':
    case 'concat':
      return fail('a merge layer belongs in a graph node with two or more inputs');
    case 'graph': {
      if (!Array.isArray(l.nodes) || l.nodes.length === 0) fail('nodes must be a non-empty list');
      const shapes = new Map<string, number[]>([['input', inShape]]);
      l.nodes.forEach((n, i) => {
        const name = n?.name;
        if (typeof name !== 'string' || !/^[A-Za-z0-9_]+$/.test(name) || shapes.has(name)) fail(`node ${i}: name ${JSON.stringify(name)} must be unique letters, digits or _ (and not "input")`);
        if (!Array.isArray(n.inputs) || n.inputs.length === 0) fail(`node ${name}: inputs must be a non-empty list`);
        const ins = n.inputs.map((k) => shapes.get(k) ?? fail(`node ${name}: input ${JSON.stringify(k)} is not an earlier node or "input"`));
        if (typeof n.layer !== 'object' || n.layer === null) fail(`node ${name}: layer is not an object`);
        if (isMerge(n.layer)) {
          if (ins.length < 2) fail(`node ${name}: ${n.layer.type} needs two or more inputs`);
          let o: number[];
          if (n.layer.type === 'concat') {
            if (ins.some((s) => s.length < 2 || s.slice(1).join(',') !== ins[0]!.slice(1).join(','))) fail(`node ${name}: concat of [${ins.join('], [')}]: all but the channel axis must agree`);
            o = [ins.reduce((a, s) => a + s[0]!, 0), ...ins[0]!.slice(1)];
          } else {
            if (ins.some((s) => s.join(',') !== ins[0]!.join(','))) fail(`node ${name}: ${n.layer.type} of [${ins.join('], [')}]: shapes differ`);
            o = ins[0]!;
          }
          visit({ path: child(name), layer: n.layer, inShape: ins[0]!, outShape: o, inShapes: ins });
          shapes.set(name, o);
        } else {
          if (ins.length !== 1) fail(`node ${name}: a ${n.layer.type} layer takes one input, got ${ins.length}`);
          shapes.set(name, walkLayer(n.layer, child(name), ins[0]!, source, visit));
        }
      });
      out = shapes.get(l.output) ?? fail(`output ${JSON.stringify(l.output)} is not a node`);
      break;
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      const g = poolGeometry(l);
      if (!ints(g.kernel, 2, isPosInt) || !ints(g.stride, 2, isPosInt) || !ints(g.pad, 4, isNat)) fail('kernel and stride must be positive and padding non-negative integers');
      if (g.pad[0] >= g.kernel[0] || g.pad[2] >= g.kernel[0] || g.pad[1] >= g.kernel[1] || g.pad[3] >= g.kernel[1]) fail('padding must be smaller than the kernel');
      if (inShape.length !== 3) fail(`expects input [C, H, W], gets [${shape}]`);
      const [OH, OW] = poolOutShape(inShape[1]!, inShape[2]!, g);
      if (OH < 1 || OW < 1) fail(`the window does not fit the input [${shape}]`);
      out = [inShape[0]!, OH, OW];
      break;
    }
    case 'flatten':
      out = [inShape.reduce((a, b) => a * b, 1)];
      break;
    case 'batchnorm2d':
      if (!isPosInt(l.channels) || (l.eps !== undefined && !(typeof l.eps === 'number' && l.eps >= 0))) fail('channels must be a positive integer and eps a non-negative number');
      if (inShape.length !== 3 || inShape[0] !== l.channels) fail(`expects input [${l.channels}, H, W], gets [${shape}]`);
      out = inShape;
      break;
    case 'sequential': {
      if (!Array.isArray(l.layers) || l.layers.length === 0) fail('layers must be a non-empty list');
      const names = new Set<string>();
      out = inShape;
      l.layers.forEach((c, i) => {
        const name = c?.name ?? String(i);
        if (typeof name !== 'string' || !/^[A-Za-z0-9_]+$/.test(name) || names.has(name)) fail(`child ${i}: name ${JSON.stringify(name)} must be unique letters, digits or _`);
        names.add(name);
        out = walkLayer(c, child(name), out, source, visit);
      });
      break;
    }
    case 'residual': {
      out = walkLayer(l.body, child('body'), inShape, source, visit);
      const s = l.shortcut ? walkLayer(l.shortcut, child('shortcut'), inShape, source, visit) : inShape;
      if (s.join(',') !== out.join(',')) fail(`body gives [${out}] but the shortcut gives [${s}]`);
      break;
    }
    default:
      return fail('unknown layer type (expected conv2d, conv1d, linear, relu, sigmoid, maxpool2d, avgpool2d, upsample2d, flatten, batchnorm2d, sequential, residual or graph)');
  }
  visit({ path, layer: l, inShape, outShape: out });
  return out;
}

/** Every parameter of the net: full name -> shape, in execution order. */
export function paramShapes(spec: NetSpec, source = 'net spec'): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  walk(spec, source, ({ path, layer }) => {
    for (const [n, s] of layerParams(layer)) shapes.set(path === '' ? n : `${path}.${n}`, s);
  });
  return shapes;
}
