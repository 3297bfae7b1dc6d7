/**
 * KV-cache quantization settings: the scheme (KIVI-style or per-token), group size, residual window and one
 * (key bits, value bits) pair per layer; pair names as KVTuner writes them (KV8 = K8V8, K8V4, K4V2, ...);
 * presets read from and written to JSON or YAML (KVTuner's `per_layer_config` YAML is accepted as is).
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { InputError } from '../../util/errors.js';
import type { KvBits, ZeroPoint } from './quantizer.js';

/**
 * 'kivi': keys per-channel in groups of `group` tokens, values per-token in groups of `group` channels (KVTuner's
 * "per-channel-asym"); 'per-token': keys and values per-token in groups of `group` channels (KVTuner's
 * "per-token-asym", whose group is the whole head).
 */
export type KvScheme = 'kivi' | 'per-token';
export const KV_SCHEMES: readonly KvScheme[] = ['kivi', 'per-token'];
export const KV_BITS: readonly KvBits[] = [2, 4, 8, 16];

export interface KvPair {
  k: KvBits;
  v: KvBits;
}

export interface KvQuantConfig {
  scheme: KvScheme;
  /** tokens per key group (kivi) / channels per group (values; per-token keys); 0 = the whole head */
  group: number;
  /** full-precision residual window R (a multiple of group for kivi; 0 for per-token) */
  residual: number;
  zeroPoint: ZeroPoint;
  layers: KvPair[];
}

/** KVTuner's defaults per scheme (q_group_size 32 / residual 32 for KIVI-style; whole head / 0 for per-token). */
export function schemeDefaults(scheme: KvScheme): { group: number; residual: number } {
  return scheme === 'kivi' ? { group: 32, residual: 32 } : { group: 0, residual: 0 };
}

export function pairName(p: KvPair): string {
  return p.k === p.v ? `KV${p.k}` : `K${p.k}V${p.v}`;
}

export function pairBits(p: KvPair): number {
  return (p.k + p.v) / 2;
}

/** Mean equivalent bits of a configuration: mean over layers of (kbits + vbits) / 2 (scales and window not counted). */
export function meanBits(layers: readonly KvPair[]): number {
  return layers.reduce((a, p) => a + pairBits(p), 0) / layers.length;
}

function bitsOf(s: string, what: string): KvBits {
  const b = Number(s);
  if (!KV_BITS.includes(b as KvBits)) throw new InputError(`${what}: ${s} bits is not one of ${KV_BITS.join(', ')}`);
  return b as KvBits;
}

/** "KV8", "K8V4", "kv4", "K16V2" -> pair. */
export function parsePair(s: string, what = '--bits'): KvPair {
  const m = /^k(\d+)v(\d+)$/i.exec(s) ?? /^kv(\d+)$/i.exec(s);
  if (!m) throw new InputError(`${what}: "${s}" is not a KV pair (expected KV8, K8V4, K4V2, ...)`);
  const k = bitsOf(m[1]!, what);
  return { k, v: m[2] === undefined ? k : bitsOf(m[2], what) };
}

export function uniformConfig(nLayers: number, pair: KvPair, scheme: KvScheme, overrides: Partial<Omit<KvQuantConfig, 'layers'>> = {}): KvQuantConfig {
  return { scheme, ...schemeDefaults(scheme), zeroPoint: 'float', ...overrides, layers: Array.from({ length: nLayers }, () => ({ ...pair })) };
}

/** Checks a configuration against a model's shape; throws InputError naming `source` and the field. */
export function validateConfig(c: KvQuantConfig, nLayers: number, headDim: number, source = 'kv config'): void {
  if (!KV_SCHEMES.includes(c.scheme)) throw new InputError(`${source}: scheme "${c.scheme}" is not one of ${KV_SCHEMES.join(', ')}`);
  if (c.layers.length !== nLayers) throw new InputError(`${source}: layers has ${c.layers.length} entries; the model has ${nLayers} layers`);
  if (!Number.isInteger(c.group) || c.group < 0) throw new InputError(`${source}: group must be a non-negative integer, got ${c.group}`);
  if (!Number.isInteger(c.residual) || c.residual < 0) throw new InputError(`${source}: residual must be a non-negative integer, got ${c.residual}`);
  const vg = channelGroup(c, headDim);
  if (headDim % vg || vg % 4) throw new InputError(`${source}: channel group ${vg} must divide the head dim ${headDim} and be a multiple of 4`);
  if (c.scheme === 'kivi') {
    if (c.group === 0) throw new InputError(`${source}: group must be > 0 for the kivi scheme (tokens per key group)`);
    if (c.residual < c.group || c.residual % c.group) throw new InputError(`${source}: residual ${c.residual} must be a positive multiple of group ${c.group} for the kivi scheme`);
  }
  c.layers.forEach((p, i) => {
    if (!KV_BITS.includes(p.k) || !KV_BITS.includes(p.v)) throw new InputError(`${source}: layer ${i}: bits (${p.k}, ${p.v}) not in ${KV_BITS.join(', ')}`);
  });
}

/** Channels per group of per-token quantization (values, and keys of the per-token scheme): never wider than a head. */
export function channelGroup(c: KvQuantConfig, headDim: number): number {
  return c.group === 0 ? headDim : Math.min(c.group, headDim);
}

/** The preset format Lithe writes; `layers` maps layer index to KVTuner's {nbits_key, nbits_value}. */
export interface KvPresetFile {
  format: 'lithe-kv-preset';
  scheme: KvScheme;
  group: number;
  residual: number;
  zero_point?: ZeroPoint;
  mean_bits: number;
  layers: Record<string, { nbits_key: number; nbits_value: number }>;
  [extra: string]: unknown;
}

export function presetFile(c: KvQuantConfig, extra: Record<string, unknown> = {}): KvPresetFile {
  const layers: KvPresetFile['layers'] = {};
  c.layers.forEach((p, i) => { layers[String(i)] = { nbits_key: p.k, nbits_value: p.v }; });
  return { format: 'lithe-kv-preset', scheme: c.scheme, group: c.group, residual: c.residual, zero_point: c.zeroPoint, mean_bits: meanBits(c.layers), layers, ...extra };
}

export function serializePreset(file: KvPresetFile, path: string): string {
  return /\.ya?ml$/i.test(path) ? YAML.stringify(file) : JSON.stringify(file, null, 2) + '\n';
}

/**
 * Reads a preset (Lithe's, or a KVTuner `per_layer_config` YAML: {layer: {nbits_key, nbits_value}}). Scheme,
 * group and residual come from the file when present, else from `defaults`.
 */
export function readPreset(path: string, nLayers: number, headDim: number, defaults: { scheme: KvScheme; group?: number; residual?: number }): KvQuantConfig {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`${path}: not a JSON or YAML preset (${(e as Error).message.split('\n')[0]})`);
  }
  if (!doc || typeof doc !== 'object') throw new InputError(`${path}: expected an object with per-layer {nbits_key, nbits_value}`);
  const o = doc as Record<string, unknown>;
  const layerMap = (o['layers'] ?? o) as Record<string, unknown>;
  const scheme = (o['scheme'] as KvScheme | undefined) ?? defaults.scheme;
  const sd = schemeDefaults(KV_SCHEMES.includes(scheme) ? scheme : defaults.scheme);
  const layers: KvPair[] = [];
  for (let i = 0; i < nLayers; i++) {
    const e = layerMap[String(i)] as Record<string, unknown> | undefined;
    if (!e || typeof e !== 'object') throw new InputError(`${path}: layers.${i} is missing (expected {nbits_key, nbits_value} for each of ${nLayers} layers)`);
    layers.push({ k: bitsOf(String(e['nbits_key']), `${path}: layers.${i}.nbits_key`), v: bitsOf(String(e['nbits_value']), `${path}: layers.${i}.nbits_value`) });
  }
  const extra = Object.keys(layerMap).filter((k) => /^\d+$/.test(k) && Number(k) >= nLayers);
  if (extra.length) throw new InputError(`${path}: layers.${extra[0]} is beyond the model's ${nLayers} layers`);
  const num = (k: string, d: number) => {
    const v = o[k];
    if (v === undefined) return d;
    if (typeof v !== 'number') throw new InputError(`${path}: ${k} must be a number`);
    return v;
  };
  const zp = o['zero_point'];
  if (zp !== undefined && zp !== 'float' && zp !== 'rounded') throw new InputError(`${path}: zero_point must be "float" or "rounded"`);
  const c: KvQuantConfig = { scheme, group: num('group', defaults.group ?? sd.group), residual: num('residual', defaults.residual ?? sd.residual), zeroPoint: (zp as ZeroPoint | undefined) ?? 'float', layers };
  validateConfig(c, nLayers, headDim, path);
  return c;
}
