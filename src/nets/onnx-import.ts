/**
 * ONNX inference graphs -> a NetSpec and weights (nets/spec.ts): a chain of Conv (2-D and 1-D; pads, strides,
 * dilations, group, auto_pad NOTSET / VALID / SAME_UPPER / SAME_LOWER), Relu, MaxPool, AveragePool, Flatten,
 * Reshape to [batch, features], MatMul and Gemm with constant weights, Add of a constant per-channel bias (folded into
 * the Conv / MatMul before it), BatchNormalization (folded into the Conv before it by nets/fold.ts), Identity and
 * Dropout (inference: identity). Constant subgraphs (Reshape / Constant of initializers) are evaluated at import.
 * Graphs with branches (directed acyclic, nodes in topological order as ONNX requires) become a graph layer: Add,
 * Sum and Mul of activations of equal shapes, Concat along channels, Resize / Upsample by integer factors (nearest,
 * bilinear), GlobalAveragePool, Sigmoid; a chain stays a sequential. Everything else is a one-line FormatError naming the
 * node: other operators, unknown or unsupported attributes, non-float inputs. Operator semantics follow
 * the ONNX operator documentation (docs/Operators.md).
 */
import { readOnnx, type OnnxAttribute, type OnnxModel, type OnnxNode } from '../io/onnx.js';
import { samePadding } from '../kernels/conv/params.js';
import { FormatError } from '../util/errors.js';
import { foldBatchNorm } from './fold.js';
import type { Weights } from './net.js';
import { walk, type GraphNode, type LayerSpec, type NetSpec, type Pads } from './spec.js';

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
  // the graph as nodes of a nets/spec.ts graph, in the file's (topological) order; a node is named by its index
  const nodes: GraphNode[] = [], weights: Weights = new Map();
  /** ONNX value -> the graph node that computes it ('input' for the graph input), and its shape without batch */
  const producer = new Map<string, string>([[gin.name, 'input']]), shapeOf = new Map<string, number[]>([[gin.name, input]]);
  const readers = new Map<string, number>();
  for (const n of m.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (const o of m.outputs) readers.set(o.name, (readers.get(o.name) ?? 0) + 1);

  for (const node of m.nodes) {
    const fail = (problem: string): never => { throw new FormatError(file, `node ${node.name} (${node.opType}): ${problem}`); };
    if (node.domain !== '' && node.domain !== 'ai.onnx') fail(`operator domain ${node.domain} not supported`);
    const live = node.inputs.filter((i) => i !== '' && !consts.has(i));
    if (live.length === 0) { constantNode(node, consts, fail); continue; }
    for (const v of live) if (!producer.has(v)) fail(`reads ${v}, which neither the graph input nor an earlier node produces (nodes must be in topological order)`);
    const merging = MERGES.has(node.opType);
    if (live.length > 1 && !merging) fail(`reads ${live.length} activations (${live.join(', ')}); only Add, Sum, Mul and Concat join branches`);
    const cur = live[0]!, shape = shapeOf.get(cur)!;
    if (!merging && node.inputs[0] !== cur) fail(`its first input ${node.inputs[0]} is a constant; the activation ${cur} must come first`);
    if (node.outputs.length !== 1) fail(`${node.outputs.length} outputs (only one is supported)`);
    const c = (i: number): Const | null => (node.inputs[i] ? consts.get(node.inputs[i]!) ?? null : null);
    const attrs = new Attrs(node, fail);
    const name = String(nodes.length);
    const produce = (by: string, out: number[]) => { producer.set(node.outputs[0]!, by); shapeOf.set(node.outputs[0]!, out); };
    const push = (l: LayerSpec, params: [string, Float32Array][] = []) => {
      let out: number[] = [];
      try {
        out = walk({ input: shape, net: l }, file);
      } catch (e) {
        fail((e as FormatError).problem ?? (e as Error).message);
      }
      nodes.push({ name, inputs: [producer.get(cur)!], layer: l });
      for (const [n, v] of params) weights.set(`${name}.${n}`, v);
      produce(name, out);
    };
    /** a merge of the live inputs (two or more; constants refused) */
    const merge = (type: 'add' | 'mul' | 'concat') => {
      if (node.inputs.some((i) => consts.has(i))) fail(`mixes activations and constants (${type} of activations only)`);
      const shapes = live.map((v) => shapeOf.get(v)!);
      let out: number[];
      if (type === 'concat') {
        const axis = attrs.int('axis', NaN), rank = shape.length + 1;
        if (Number.isNaN(axis)) fail('attribute axis is required');
        if (axis !== 1 && axis !== 1 - rank) fail(`axis ${axis}: only concatenation along channels (axis 1) is supported`);
        if (shapes.some((s) => s.length < 2 || s.slice(1).join(',') !== shape.slice(1).join(','))) fail(`inputs [${shapes.join('], [')}] differ beyond the channel axis`);
        out = [shapes.reduce((a, s) => a + s[0]!, 0), ...shape.slice(1)];
      } else {
        if (shapes.some((s) => s.join(',') !== shape.join(','))) fail(`inputs of shapes [${shapes.join('], [')}]: only equal shapes are supported between activations`);
        out = shape;
      }
      nodes.push({ name, inputs: live.map((v) => producer.get(v)!), layer: { type } });
      produce(name, out);
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
      case 'Add':
      case 'Sum':
      case 'Mul': {
        if (live.length > 1) { merge(node.opType === 'Mul' ? 'mul' : 'add'); break; }
        if (node.opType === 'Sum' && node.inputs.length === 1) { produce(producer.get(cur)!, shape); break; }
        if (node.opType !== 'Add') fail(`${node.opType.toLowerCase()} of an activation and a constant is not supported (only Add of a bias)`);
        const other = c(node.inputs[0] === cur ? 1 : 0) ?? fail('the other operand must be a constant');
        const by = producer.get(cur)!, last = nodes.find((n) => n.name === by)?.layer;
        if (!last || (last.type !== 'conv2d' && last.type !== 'conv1d' && last.type !== 'linear')) fail('adds a constant after something other than a Conv, MatMul or Gemm (only biases are supported)');
        if (readers.get(cur) !== 1) fail(`adds a constant to ${cur}, which other nodes also read (only a bias of a Conv, MatMul or Gemm read by nothing else is supported)`);
        const channels = shape[0]!, perChannel = broadcastsPerChannel(other.dims, shape);
        if (!perChannel && other.data.length !== 1) fail(`constant of dims [${other.dims}] is not a per-channel bias for [${shape}]`);
        const key = `${by}.bias`, old = weights.get(key) ?? new Float32Array(channels);
        weights.set(key, old.map((v, i) => v + Number(other.data[perChannel ? i : 0])));
        (last as { bias?: boolean }).bias = true;
        produce(by, shape);
        break;
      }
      case 'Concat':
        if (live.length === 1 && node.inputs.length === 1) { attrs.int('axis', 1); produce(producer.get(cur)!, shape); break; }
        merge('concat');
        break;
      case 'Resize':
      case 'Upsample':
        push(resizeLayer(node, m.opset, shape, c, attrs, fail));
        break;
      case 'GlobalAveragePool':
        if (shape.length !== 3) fail(`input [${shape}] is not [C, H, W] (only 2-D pooling is supported)`);
        push({ type: 'avgpool2d', kernel: [shape[1]!, shape[2]!] });
        break;
      case 'Relu':
        push({ type: 'relu' });
        break;
      case 'Sigmoid':
        push({ type: 'sigmoid' });
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
        produce(producer.get(cur)!, shape);
        break;
      default:
        fail('operator not supported (supported: Conv, Relu, Sigmoid, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, MatMul, Gemm, Add of a bias, Add, Sum, Mul and Concat of activations, Resize, Upsample, BatchNormalization, Identity, Dropout)');
    }
    attrs.checkAllRead();
  }
  if (m.outputs.length !== 1) throw new FormatError(file, `expected one graph output, found ${m.outputs.length} (${m.outputs.map((o) => o.name).join(', ')})`);
  const output = m.outputs[0]!.name, last = producer.get(output);
  if (last === undefined) throw new FormatError(file, `the graph output ${output} is not computed by any node`);
  if (last === 'input' || nodes.length === 0) throw new FormatError(file, 'the graph has no layers');
  // a chain (each node reads the one before) stays a sequential, as before graphs existed
  const chain = last === nodes[nodes.length - 1]!.name && nodes.every((n, i) => n.inputs.length === 1 && n.inputs[0] === (i === 0 ? 'input' : nodes[i - 1]!.name));
  const net: LayerSpec = chain ? { type: 'sequential', layers: nodes.map((n) => n.layer) } : { type: 'graph', nodes, output: last };
  const folded = foldBatchNorm({ input, net }, weights);
  return { spec: folded.spec, weights: folded.weights, input: gin.name, output, foldedBatchNorms: folded.folded };
}

const MERGES = new Set(['Add', 'Sum', 'Mul', 'Concat']);

/**
 * Resize (opset 11+: scales or sizes; opset 10 as Upsample) and Upsample (opset 7-9) by integer factors on H and W -> upsample2d. Nearest
 * with ONNX's half_pixel (round_prefer_floor / _ceil) or asymmetric + floor coordinates (both read floor(o / s) at
 * integer factors, what PyTorch exports); linear with half_pixel / pytorch_half_pixel (align_corners false) or
 * align_corners. Other coordinate modes, cubic, antialiasing, non-integer or batch/channel scales are refused.
 */
function resizeLayer(node: OnnxNode, opset: number, shape: number[], c: (i: number) => Const | null, attrs: Attrs, fail: (p: string) => never): LayerSpec {
  if (shape.length !== 3) fail(`input [${shape}] is not [C, H, W] (only 2-D resizing is supported)`);
  const resize = node.opType === 'Resize' && opset >= 11; // Resize-10 has Upsample's inputs (X, scales) and coordinates
  let scales: number[] | null = null;
  if (resize) {
    const s = node.inputs.length > 2 && node.inputs[2] ? c(2) ?? fail('scales must be a constant') : null;
    const z = node.inputs.length > 3 && node.inputs[3] ? c(3) ?? fail('sizes must be a constant') : null;
    if (s && s.data.length > 0) scales = Array.from(s.data, Number);
    else if (z && z.data.length > 0) {
      const full = [0, ...shape], sizes = Array.from(z.data, Number);
      if (sizes.length !== 4) fail(`sizes [${sizes}] must have 4 values`);
      scales = sizes.map((v, i) => (i === 0 ? 1 : v / full[i]!));
    } else fail('needs constant scales or sizes');
    if (node.inputs[1] && c(1) === null) fail('roi must be a constant');
    for (const [a, d] of [['antialias', 0], ['exclude_outside', 0]] as const) if (attrs.int(a, d) !== d) fail(`${a} ${d === 0 ? 'other than 0' : ''} is not supported`);
    attrs.float('cubic_coeff_a', -0.75);
    attrs.float('extrapolation_value', 0);
    if (attrs.str('keep_aspect_ratio_policy', 'stretch') !== 'stretch') fail('keep_aspect_ratio_policy other than stretch is not supported');
    if (attrs.intsOrNull('axes') !== null) fail('the axes attribute is not supported');
  } else {
    const given = attrs.intsOrNull('scales') === null ? null : (node.attributes.get('scales') as number[]);
    scales = given ?? Array.from((c(1) ?? fail('scales must be a constant')).data, Number);
  }
  if (scales!.length !== 4 || scales![0] !== 1 || scales![1] !== 1) fail(`scales [${scales}] must be [1, 1, sh, sw]`);
  const sh = scales![2]!, sw = scales![3]!;
  if (![sh, sw].every((v) => Number.isInteger(v) && v >= 1)) fail(`scales [${scales}]: only integer factors >= 1 are supported`);
  const mode = attrs.str('mode', 'nearest');
  const coord = resize ? attrs.str('coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  const nearestMode = resize ? attrs.str('nearest_mode', 'round_prefer_floor') : 'floor';
  const scale: [number, number] = [sh, sw];
  if (mode === 'nearest') {
    const ok = ((coord === 'half_pixel' || coord === 'pytorch_half_pixel') && (nearestMode === 'round_prefer_floor' || nearestMode === 'round_prefer_ceil')) || (coord === 'asymmetric' && nearestMode === 'floor');
    if (!ok) fail(`nearest with coordinate_transformation_mode ${coord} and nearest_mode ${nearestMode} is not supported (half_pixel with round_prefer_floor, or asymmetric with floor)`);
    return { type: 'upsample2d', scale, mode: 'nearest' };
  }
  if (mode === 'linear' || mode === 'bilinear') {
    if (coord === 'half_pixel' || coord === 'pytorch_half_pixel') return { type: 'upsample2d', scale, mode: 'bilinear' };
    if (coord === 'align_corners') return { type: 'upsample2d', scale, mode: 'bilinear', alignCorners: true };
    return fail(`linear with coordinate_transformation_mode ${coord} is not supported (half_pixel, pytorch_half_pixel or align_corners)`);
  }
  return fail(`mode ${mode} is not supported (nearest or linear)`);
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
