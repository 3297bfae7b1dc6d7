/**
 * ONNX model files (protobuf, schema in onnx-schema.ts, decoded by protobufjs) as plain data: the graph's nodes with
 * their attributes, its initializers as float32 / int64 arrays, and its inputs and outputs with their shapes. This
 * reads; what the graph means is nets/onnx-import.ts's business. Undecodable files are one-line FormatErrors.
 */
import protobuf from 'protobufjs';
import { readFileOrThrow } from './files.js';
import { FormatError } from '../util/errors.js';
import { ONNX_PROTO } from './onnx-schema.js';

export type OnnxAttribute = number | string | number[] | string[] | OnnxTensor | null;

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** FLOAT and DOUBLE as float32, integer types as int64 read into JS numbers; null for other types */
  data: Float32Array | number[] | null;
  /** ONNX TensorProto.DataType */
  dataType: number;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo { name: string; elemType: number; shape: (number | string)[] | null }

export interface OnnxModel {
  file: string;
  irVersion: number;
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export const ONNX_FLOAT = 1;
const ONNX_INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);

let modelType: protobuf.Type | null = null;
function ModelProto(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function tensorOf(file: string, t: any): OnnxTensor {
  const dims = (t.dims ?? []).map(Number) as number[], n = dims.reduce((a, b) => a * b, 1), dataType = t.data_type ?? 0, name = t.name ?? '';
  if (t.data_location === 1) throw new FormatError(file, `tensor ${name}: external data is not supported`);
  const raw: Uint8Array | undefined = t.raw_data?.length ? t.raw_data : undefined;
  let data: OnnxTensor['data'] = null;
  if (dataType === ONNX_FLOAT || dataType === 11) {
    const width = dataType === ONNX_FLOAT ? 4 : 8;
    if (raw) {
      if (raw.byteLength !== n * width) throw new FormatError(file, `tensor ${name}: ${raw.byteLength} raw bytes for dims [${dims}]`);
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = Float32Array.from({ length: n }, (_, i) => (width === 4 ? dv.getFloat32(4 * i, true) : dv.getFloat64(8 * i, true)));
    } else data = Float32Array.from(dataType === ONNX_FLOAT ? t.float_data ?? [] : t.double_data ?? []);
  } else if (ONNX_INT_TYPES.has(dataType)) {
    if (raw) {
      if (dataType !== 7) throw new FormatError(file, `tensor ${name}: raw integer data of type ${dataType} is not supported (INT64 only)`);
      if (raw.byteLength !== n * 8) throw new FormatError(file, `tensor ${name}: ${raw.byteLength} raw bytes for dims [${dims}]`);
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = Array.from({ length: n }, (_, i) => Number(dv.getBigInt64(8 * i, true)));
    } else data = (dataType === 7 ? t.int64_data ?? [] : t.int32_data ?? []).map(Number);
  }
  if (data && data.length !== n) throw new FormatError(file, `tensor ${name}: ${data.length} values for dims [${dims}]`);
  return { name, dims, data, dataType };
}

function attributeOf(file: string, a: any): OnnxAttribute {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  switch (a.type) {
    case 1: return a.f ?? 0;
    case 2: return Number(a.i ?? 0);
    case 3: return text(a.s ?? new Uint8Array());
    case 4: return tensorOf(file, a.t);
    case 6: return (a.floats ?? []).map(Number);
    case 7: return (a.ints ?? []).map(Number);
    case 8: return (a.strings ?? []).map(text);
    default: return null; // graphs and other kinds: the importer refuses the node that carries one
  }
}

function valueInfoOf(v: any): OnnxValueInfo {
  const tt = v.type?.tensor_type;
  const dims = tt?.shape?.dim as any[] | undefined;
  return { name: v.name ?? '', elemType: tt?.elem_type ?? 0, shape: dims ? dims.map((d) => (d.dim_value !== undefined && d.dim_value !== null ? Number(d.dim_value) : String(d.dim_param ?? '?'))) : null };
}

export function parseOnnx(file: string, bytes: Uint8Array): OnnxModel {
  let m: any;
  try {
    m = ModelProto().toObject(ModelProto().decode(bytes), { longs: Number, defaults: false, oneofs: false });
  } catch (e) {
    throw new FormatError(file, `not an ONNX model (protobuf decoding failed: ${(e as Error).message.split('\n')[0]})`);
  }
  if (!m.graph || !Array.isArray(m.graph.node)) throw new FormatError(file, 'not an ONNX model (no graph with nodes)');
  const g = m.graph;
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorOf(file, t));
  const nodes: OnnxNode[] = g.node.map((n: any, i: number) => ({
    name: n.name || `#${i} ${n.op_type ?? '?'}`,
    opType: n.op_type ?? '',
    domain: n.domain ?? '',
    inputs: n.input ?? [],
    outputs: n.output ?? [],
    attributes: new Map((n.attribute ?? []).map((a: any) => [a.name ?? '', attributeOf(file, a)])),
  }));
  const opset = (m.opset_import ?? []).find((o: any) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0;
  return {
    file, irVersion: Number(m.ir_version ?? 0), opset: Number(opset), producer: `${m.producer_name ?? ''} ${m.producer_version ?? ''}`.trim(),
    nodes, initializers, inputs: (g.input ?? []).map(valueInfoOf), outputs: (g.output ?? []).map(valueInfoOf),
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export function readOnnx(file: string): OnnxModel {
  return parseOnnx(file, readFileOrThrow(file));
}
