/**
 * ONNX inference graphs -> a NetSpec and weights (nets/spec.ts): a chain of Conv (2-D and 1-D; pads, strides,
 * dilations, group, auto_pad NOTSET / VALID / SAME_UPPER / SAME_LOWER), Relu, MaxPool, AveragePool, Flatten,
 * Reshape to [batch, features], MatMul and Gemm with constant weights, Add of a constant per-channel bias (folded into
 * the Conv / MatMul before it), BatchNormalization (folded into the Conv before it by nets/fold.ts), Identity and
 * Dropout (inference: identity). Constant subgraphs (Reshape / Constant of initializers) are evaluated at import.
 * Everything else is a one-line FormatError naming the node: other operators, unknown or unsupported attributes,
 * branches (a node reading anything but the previous layer's output), non-float inputs. Operator semantics follow
 * the ONNX operator documentation (docs/Operators.md).
 */
import { readOnnx, type OnnxAttribute, type OnnxModel, type OnnxNode } from '../io/onnx.js';
import { samePadding } from '../kernels/conv/params.js';
import { FormatError } from '../util/errors.js';
import { foldBatchNorm } from './fold.js';
import type { Weights } from './net.js';
import { walk, type LayerSpec, type NetSpec, type Pads } from './spec.js';

interface Const { dims: number[]; data: Float32Array | number[] }

export interface ImportedNet {
  spec: NetSpec;
  weights: Weights;
  /** the graph's input and output names */
  input: string;
  output: string;
  foldedBatchNorms: number;
}

export function readOnnxNet(file: string): ImportedNet {
  return importOnnx(readOnnx(file));
}

export function importOnnx(m: OnnxModel): ImportedNet {
  const file = m.file;
  const consts = new Map<string, Const>();
  for (const [name, t] of m.initializers) if (t.data) consts.set(name, { dims: t.dims, data: t.data });
  const graphInputs = m.inputs.filter((v) => !m.initializers.has(v.name));
  if (graphInputs.length !== 1) throw new FormatError(file, `expected one graph input besides the initializers, found ${graphInputs.length} (${graphInputs.map((v) => v.name).join(', ')})`);
  const gin = graphInputs[0]!;
  if (gin.elemType !== 1) throw new FormatError(file, `graph input ${gin.name}: element type ${gin.elemType}, expected FLOAT (1)`);
  if (!gin.shape || gin.shape.length < 2 || gin.shape.slice(1).some((d) => typeof d !== 'number' || d < 1)) throw new FormatError(file, `graph input ${gin.name}: shape [${gin.shape}] must be [batch, fixed sizes...]`);
  const input = gin.shape.slice(1) as number[];
  const layers: LayerSpec[] = [], weights: Weights = new Map();
  let cur = gin.name, shape = input;

  for (const node of m.nodes) {
    const fail = (problem: string): never => { throw new FormatError(file, `node ${node.name} (${node.opType}): ${problem}`); };
    if (node.domain !== '' && node.domain !== 'ai.onnx') fail(`operator domain ${node.domain} not supported`);
    const live = node.inputs.filter((i) => i !== '' && !consts.has(i));
    if (live.length === 0) { constantNode(node, consts, fail); continue; }
    if (live.length > 1 || node.inputs[0] !== cur) {
      fail(`reads ${live.filter((i) => i !== cur).join(', ') || node.inputs[0]}, not only the previous layer's output ${cur} (only chains of layers are supported)`);
    }
    if (node.outputs.length !== 1) fail(`${node.outputs.length} outputs (only one is supported)`);
    const c = (i: number): Const | null => (node.inputs[i] ? consts.get(node.inputs[i]!) ?? null : null);
    const attrs = new Attrs(node, fail);
    const layerName = String(layers.length);
    const push = (l: LayerSpec, params: [string, Float32Array][] = []) => {
      layers.push(l);
      for (const [n, v] of params) weights.set(`${layerName}.${n}`, v);
      try {
        shape = walk({ input: shape, net: l }, file);
      } catch (e) {
        fail((e as FormatError).problem ?? (e as Error).message);
      }
    };
    switch (node.opType) {
      case 'Conv': {
        const w = c(1) ?? fail('the weight must be a constant');
        const rank = w.dims.length - 2, b = c(2);
        if (rank !== 1 && rank !== 2) fail(`weight of rank ${w.dims.length}: only 1-D and 2-D convolutions are supported`);
        if (shape.length !== rank + 1) fail(`input [${shape}] is not [C, ${rank === 2 ? 'H, W' : 'L'}]`);
        const k = w.dims.slice(2), kernel = attrs.ints('kernel_shape', k), group = attrs.int('group', 1);
        if (kernel.join() !== k.join()) fail(`kernel_shape [${kernel}] differs from the weight's [${k}]`);
        const strides = attrs.ints('strides', k.map(() => 1)), dil = attrs.ints('dilations', k.map(() => 1));
        const pads = padsOf(attrs, shape.slice(1), k, strides, dil, fail);
        if (node.inputs[2] && !b) fail('the bias must be a constant');
        const inC = shape[0]!, outC = w.dims[0]!;
        const params: [string, Float32Array][] = [['weight', f32(w.data)], ...(b ? [['bias', f32(b.data)] as [string, Float32Array]] : [])];
        if (rank === 2) push({ type: 'conv2d', inChannels: inC, outChannels: outC, kernel: [k[0]!, k[1]!], stride: [strides[0]!, strides[1]!], dilation: [dil[0]!, dil[1]!], padding: [pads[0]!, pads[1]!, pads[2]!, pads[3]!], groups: group, bias: !!b }, params);
        else push({ type: 'conv1d', inChannels: inC, outChannels: outC, kernel: k[0]!, stride: strides[0]!, dilation: dil[0]!, padding: [pads[0]!, pads[1]!], groups: group, bias: !!b }, params);
        break;
      }
      case 'Add': {
        const other = c(node.inputs[0] === cur ? 1 : 0) ?? fail('the other operand must be a constant');
        const last = layers[layers.length - 1];
        if (!last || (last.type !== 'conv2d' && last.type !== 'conv1d' && last.type !== 'linear')) fail('adds a constant after something other than a Conv, MatMul or Gemm (only biases are supported)');
        const channels = shape[0]!, perChannel = broadcastsPerChannel(other.dims, shape);
        if (!perChannel && other.data.length !== 1) fail(`constant of dims [${other.dims}] is not a per-channel bias for [${shape}]`);
        const key = `${layers.length - 1}.bias`, old = weights.get(key) ?? new Float32Array(channels);
        weights.set(key, old.map((v, i) => v + Number(other.data[perChannel ? i : 0])));
        (last as { bias?: boolean }).bias = true;
        break;
      }
      case 'Relu':
        push({ type: 'relu' });
        break;
      case 'MaxPool':
      case 'AveragePool': {
        if (shape.length !== 3) fail(`input [${shape}] is not [C, H, W] (only 2-D pooling is supported)`);
        const kernel = attrs.ints('kernel_shape', null);
        if (kernel.length !== 2) fail(`kernel_shape [${kernel}] is not 2-D`);
        if (attrs.int('ceil_mode', 0) !== 0) fail('ceil_mode 1 is not supported');
        if (attrs.ints('dilations', [1, 1]).some((d) => d !== 1)) fail('dilations other than 1 are not supported');
        if (attrs.int('storage_order', 0) !== 0) fail('storage_order 1 is not supported');
        const strides = attrs.ints('strides', [1, 1]);
        const pads = padsOf(attrs, shape.slice(1), kernel, strides, [1, 1], fail) as Pads;
        const g = { kernel: [kernel[0]!, kernel[1]!] as [number, number], stride: [strides[0]!, strides[1]!] as [number, number], padding: pads };
        if (node.opType === 'MaxPool') push({ type: 'maxpool2d', ...g });
        else push({ type: 'avgpool2d', ...g, countIncludePad: attrs.int('count_include_pad', 0) === 1 });
        break;
      }
      case 'Flatten':
        if (attrs.int('axis', 1) !== 1) fail('only axis 1 is supported');
        push({ type: 'flatten' });
        break;
      case 'Reshape': {
        const target = Array.from((c(1) ?? fail('the shape must be a constant')).data, Number);
        attrs.int('allowzero', 0);
        const n = shape.reduce((a, b) => a * b, 1);
        const batchOk = target[0] === 1 || target[0] === 0 || (target[0] === -1 && target[1] === n);
        if (target.length !== 2 || !batchOk || (target[1] !== n && target[1] !== -1)) fail(`reshape of [batch, ${shape}] to [${target}]: only a flattening to [batch, ${n}] is supported`);
        push({ type: 'flatten' });
        break;
      }
      case 'MatMul':
      case 'Gemm': {
        if (shape.length !== 1) fail(`input [${shape}] is not [batch, features] (flatten it first)`);
        const B = c(1) ?? fail('the weight must be a constant');
        const gemm = node.opType === 'Gemm';
        if (gemm && attrs.int('transA', 0) !== 0) fail('transA 1 is not supported');
        const transB = gemm ? attrs.int('transB', 0) === 1 : false, alpha = gemm ? attrs.float('alpha', 1) : 1, beta = gemm ? attrs.float('beta', 1) : 1;
        if (B.dims.length !== 2) fail(`weight of dims [${B.dims}] is not 2-D`);
        const [K, M] = transB ? [B.dims[1]!, B.dims[0]!] : [B.dims[0]!, B.dims[1]!];
        if (K !== shape[0]) fail(`weight [${B.dims}] does not fit input features ${shape[0]}`);
        const w = new Float32Array(M * K); // [M, K] = the Linear layout
        for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) w[i * K + k] = alpha * Number(transB ? B.data[i * K + k] : B.data[k * M + i]);
        const C = gemm ? c(2) : null;
        if (gemm && node.inputs[2] && !C) fail('C must be a constant');
        let bias: Float32Array | null = null;
        if (C) {
          if (C.data.length !== M && C.data.length !== 1) fail(`C of dims [${C.dims}] is not a bias of ${M} values`);
          bias = Float32Array.from({ length: M }, (_, i) => beta * Number(C.data[C.data.length === 1 ? 0 : i]));
        }
        push({ type: 'linear', inFeatures: K, outFeatures: M, bias: !!bias }, [['weight', w], ...(bias ? [['bias', bias] as [string, Float32Array]] : [])]);
        break;
      }
      case 'BatchNormalization': {
        if (shape.length !== 3) fail(`input [${shape}] is not [C, H, W]`);
        const eps = attrs.float('epsilon', 1e-5);
        attrs.float('momentum', 0.9);
        if (attrs.int('training_mode', 0) !== 0) fail('training_mode 1 is not supported');
        if (attrs.int('spatial', 1) !== 1) fail('spatial 0 is not supported');
        const p = [1, 2, 3, 4].map((i) => f32((c(i) ?? fail(`input ${i} must be a constant`)).data));
        push({ type: 'batchnorm2d', channels: shape[0]!, eps }, [['weight', p[0]!], ['bias', p[1]!], ['running_mean', p[2]!], ['running_var', p[3]!]]);
        break;
      }
      case 'Identity':
      case 'Dropout':
        if (node.opType === 'Dropout') { attrs.float('ratio', 0.5); attrs.int('seed', 0); }
        break;
      default:
        fail('operator not supported (supported: Conv, Relu, MaxPool, AveragePool, Flatten, Reshape, MatMul, Gemm, Add of a bias, BatchNormalization, Identity, Dropout)');
    }
    attrs.checkAllRead();
    cur = node.outputs[0]!;
  }
  const gout = m.outputs[0];
  if (m.outputs.length !== 1 || gout!.name !== cur) throw new FormatError(file, `the graph output ${m.outputs.map((o) => o.name).join(', ')} is not the last layer's output ${cur}`);
  if (layers.length === 0) throw new FormatError(file, 'the graph has no layers');
  const folded = foldBatchNorm({ input, net: { type: 'sequential', layers } }, weights);
  return { spec: folded.spec, weights: folded.weights, input: gin.name, output: cur, foldedBatchNorms: folded.folded };
}

/** Attribute access that remembers what was read, so unknown attributes can be refused. */
class Attrs {
  private readonly read = new Set<string>();
  constructor(private readonly node: OnnxNode, private readonly fail: (p: string) => never) {}
  private get(name: string): OnnxAttribute | undefined {
    this.read.add(name);
    return this.node.attributes.get(name);
  }
  int(name: string, dflt: number): number {
    const v = this.get(name);
    if (v === undefined) return dflt;
    return typeof v === 'number' && Number.isInteger(v) ? v : this.fail(`attribute ${name} must be an integer`);
  }
  float(name: string, dflt: number): number {
    const v = this.get(name);
    if (v === undefined) return dflt;
    return typeof v === 'number' ? v : this.fail(`attribute ${name} must be a number`);
  }
  str(name: string, dflt: string): string {
    const v = this.get(name);
    if (v === undefined) return dflt;
    return typeof v === 'string' ? v : this.fail(`attribute ${name} must be a string`);
  }
  ints(name: string, dflt: number[] | null): number[] {
    const v = this.get(name);
    if (v === undefined) return dflt ?? this.fail(`attribute ${name} is required`);
    return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : this.fail(`attribute ${name} must be a list of integers`);
  }
  intsOrNull(name: string): number[] | null {
    return this.node.attributes.has(name) ? this.ints(name, null) : (this.read.add(name), null);
  }
  checkAllRead(): void {
    for (const name of this.node.attributes.keys()) if (!this.read.has(name)) this.fail(`attribute ${name} not supported`);
  }
}

/** ONNX pads [x1_begin, x2_begin, ..., x1_end, x2_end] (or from auto_pad) -> [top, left, bottom, right] / [left, right]. */
function padsOf(attrs: Attrs, spatial: number[], k: number[], strides: number[], dil: number[], fail: (p: string) => never): number[] {
  const auto = attrs.str('auto_pad', 'NOTSET'), r = k.length;
  const explicit = attrs.intsOrNull('pads');
  if (strides.length !== r || dil.length !== r) fail(`strides [${strides}] and dilations [${dil}] must have ${r} values`);
  if (auto === 'NOTSET') {
    const p = explicit ?? new Array(2 * r).fill(0);
    if (p.length !== 2 * r || p.some((v) => v < 0)) fail(`pads [${p}] must be ${2 * r} non-negative integers`);
    return r === 2 ? [p[0]!, p[1]!, p[2]!, p[3]!] : [p[0]!, p[1]!];
  }
  if (explicit && explicit.some((v) => v !== 0)) fail(`pads [${explicit}] given with auto_pad ${auto}`);
  if (auto === 'VALID') return new Array(2 * r).fill(0);
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') fail(`auto_pad ${auto} not supported`);
  const sides = spatial.map((n, i) => samePadding(n, k[i]!, strides[i]!, dil[i]!, auto === 'SAME_UPPER'));
  return r === 2 ? [sides[0]![0], sides[1]![0], sides[0]![1], sides[1]![1]] : [sides[0]![0], sides[0]![1]];
}

/** dims (right-aligned against [C, ...spatial]) are 1 everywhere but the channel axis, which is C. */
function broadcastsPerChannel(dims: number[], shape: number[]): boolean {
  const d = [...dims];
  while (d.length > shape.length) if (d.shift() !== 1) return false;
  const aligned = [...new Array(shape.length - d.length).fill(1), ...d];
  return aligned[0] === shape[0] && aligned.slice(1).every((v) => v === 1);
}

/** Nodes of constants only: Reshape and Constant are evaluated now; anything else is refused. */
function constantNode(node: OnnxNode, consts: Map<string, Const>, fail: (p: string) => never): void {
  if (node.opType === 'Constant') {
    const t = node.attributes.get('value');
    if (!t || typeof t !== 'object' || Array.isArray(t) || !t.data) fail('only a tensor value of float or integer type is supported');
    const v = t as { dims: number[]; data: Float32Array | number[] };
    consts.set(node.outputs[0]!, { dims: v.dims, data: v.data });
    return;
  }
  if (node.opType === 'Reshape') {
    const src = consts.get(node.inputs[0]!)!, target = Array.from(consts.get(node.inputs[1]!)!.data, Number);
    const n = src.data.length, known = target.map((d, i) => (d === 0 ? src.dims[i]! : d)), free = known.indexOf(-1);
    if (free >= 0) known[free] = n / known.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (known.reduce((a, b) => a * b, 1) !== n) fail(`cannot reshape [${src.dims}] to [${target}]`);
    consts.set(node.outputs[0]!, { dims: known, data: src.data });
    return;
  }
  fail('operator on constants not supported (only Constant and Reshape are evaluated at import)');
}

function f32(data: Float32Array | number[]): Float32Array {
  return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
}
