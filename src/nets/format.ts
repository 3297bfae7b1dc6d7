/**
 * A network file: safetensors with every parameter as F32 under its PyTorch name, and the architecture (NetSpec JSON)
 * in the header's metadata under "lithe_net" (a net.json beside the file is read when the metadata lacks it, for
 * weights written by other tools). Loading checks the architecture, then every parameter's presence, dtype and
 * shape, each with a one-line FormatError naming the file and the tensor.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { TensorMap } from '../io/raw-tensor.js';
import { FormatError } from '../util/errors.js';
import { paramShapes, walk, type NetSpec } from './spec.js';
import type { Weights } from './net.js';

export const NET_METADATA_KEY = 'lithe_net';

/** Writes the spec and weights (atomically: a temporary file renamed into place). */
export function saveNet(file: string, spec: NetSpec, weights: Weights): void {
  const shapes = paramShapes(spec);
  const tensors: TensorMap = new Map();
  for (const [name, shape] of shapes) {
    const w = weights.get(name);
    if (!w || w.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`saveNet: parameter ${name} missing or not of shape [${shape}]`);
    tensors.set(name, { dtype: 'f32', shape, data: new Uint8Array(w.buffer, w.byteOffset, w.byteLength) });
  }
  writeSafetensors(file, tensors, { [NET_METADATA_KEY]: JSON.stringify(spec) });
}

export function loadNet(file: string): { spec: NetSpec; weights: Weights } {
  const st = readSafetensors(file);
  let json = st.metadata[NET_METADATA_KEY], source = file;
  if (json === undefined) {
    const side = path.join(path.dirname(file), 'net.json');
    if (!existsSync(side)) throw new FormatError(file, `no "${NET_METADATA_KEY}" architecture in the metadata and no net.json beside it`);
    json = readFileSync(side, 'utf8');
    source = side;
  }
  let spec: NetSpec;
  try {
    spec = JSON.parse(json) as NetSpec;
  } catch (e) {
    throw new FormatError(source, `the "${NET_METADATA_KEY}" architecture is not valid JSON (${(e as Error).message})`);
  }
  if (typeof spec !== 'object' || spec === null || spec.net === undefined) throw new FormatError(source, 'the architecture must be an object {input, net}');
  walk(spec, source);
  const shapes = paramShapes(spec, source), weights: Weights = new Map();
  for (const [name, shape] of shapes) {
    const t = st.tensors.get(name);
    if (!t) throw new FormatError(file, `missing tensor ${name} [${shape}] of the architecture`);
    if (t.dtype !== 'f32') throw new FormatError(file, `tensor ${name}: dtype ${t.dtype}, expected F32`);
    if (t.shape.join(',') !== shape.join(',')) throw new FormatError(file, `tensor ${name}: shape [${t.shape}], expected [${shape}]`);
    const w = new Float32Array(t.data.byteLength / 4);
    new Uint8Array(w.buffer).set(t.data);
    weights.set(name, w);
  }
  const extra = [...st.tensors.keys()].find((k) => !shapes.has(k));
  if (extra !== undefined) throw new FormatError(file, `tensor ${extra} is not a parameter of the architecture`);
  return { spec, weights };
}
