/**
 * The online part of a rotated, activation-quantized model (QuaRot's ActQuantWrapper / QK wrapper): R4 Hadamard
 * on the down_proj input, R3 Hadamard on Q and K of every head after RoPE, and dynamic fake quantization of the
 * linear inputs (per token; o_proj in per-head groups), of K after R3 and of V at the v_proj output.
 * lm_head and the norms stay in float, as in the reference.
 */
import type { FakeQuantParams } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import { requireHadamardSize } from '../../linalg/hadamard.js';
import { ActivationHook, DecoderModel } from '../../models/index.js';
import { OptionError } from '../../util/errors.js';

export interface ActQuant {
  bits: number;
  asym: boolean;
  /** min/max multiplier (QuaRot's clip ratio) */
  clip: number;
  /** columns per group; 0 = the whole row (per token) */
  group: number;
}

export interface OnlineConfig {
  /** Hadamard on the down_proj input (with W_down <- W_down H fused) */
  r4: boolean;
  /** Hadamard on Q and K per head after RoPE */
  r3: boolean;
  /** inputs of q/k/v, o (per-head groups unless group is set), gate/up, down; null = 16-bit */
  act: ActQuant | null;
  k: ActQuant | null;
  v: ActQuant | null;
}

/** QuaRot/DartQuant activation defaults: asymmetric, per token, clip 0.9. */
export const ACT_DEFAULTS = { asym: true, clip: 0.9, group: 0 } as const;
/** KV defaults: asymmetric, one group per head (the reference's group 128 = head_dim of LLaMA-2), clip 1. */
export const KV_DEFAULTS = { asym: true, clip: 1, group: 0 } as const;

export function onlineHook(model: DecoderModel, cfg: OnlineConfig): ActivationHook | null {
  const c = model.config, be = model.backend, D = c.headDim;
  if (cfg.r4) requireHadamardSize(c.hiddenDim, 'R4 (MLP hidden size)');
  if (cfg.r3) requireHadamardSize(D, 'R3 (head dim)');
  const fq = (q: ActQuant | null, n: number, dflt: number): FakeQuantParams | null =>
    q && q.bits < 16 ? { n, group: q.group || dflt, bits: q.bits, asym: q.asym, clip: q.clip } : null;
  checkActGroup(c, cfg.act);
  const qd = c.nHeads * D, kvd = c.nKVHeads * D;
  const p = {
    attnIn: fq(cfg.act, c.dim, c.dim), mlpIn: fq(cfg.act, c.dim, c.dim), oIn: fq(cfg.act, qd, D), downIn: fq(cfg.act, c.hiddenDim, c.hiddenDim),
    k: fq(cfg.k, kvd, D), v: fq(cfg.v, kvd, D),
  };
  for (const [point, q] of Object.entries(p)) {
    if (q && q.n % q.group) throw new Error(`${point}: ${q.n} columns are not groups of ${q.group}`); // checkActGroup covers the flag
  }
  if (!cfg.r3 && !cfg.r4 && Object.values(p).every((q) => !q)) return null;
  return (_layer, point, x) => {
    switch (point) {
      case 'q': if (cfg.r3) ops.hadamard(be, x, D); return;
      case 'k': if (cfg.r3) ops.hadamard(be, x, D); if (p.k) ops.fakeQuant(be, x, p.k); return;
      case 'v': if (p.v) ops.fakeQuant(be, x, p.v); return;
      case 'downIn': if (cfg.r4) ops.hadamard(be, x, c.hiddenDim); if (p.downIn) ops.fakeQuant(be, x, p.downIn); return;
      default: { const q = p[point]; if (q) ops.fakeQuant(be, x, q); }
    }
  };
}

/** --a-group must divide every width it groups: the hidden size (q/k/v, gate/up inputs), the MLP hidden size (down_proj input) and the attention width (o_proj input). */
export function checkActGroup(c: { dim: number; hiddenDim: number; nHeads: number; headDim: number }, act: ActQuant | null): void {
  if (!act || act.group === 0) return;
  const widths: [string, number][] = [['hidden size', c.dim], ['MLP hidden size (down_proj input)', c.hiddenDim], ['attention width (o_proj input)', c.nHeads * c.headDim]];
  for (const [name, n] of widths) {
    if (n % act.group) throw new OptionError('--a-group', `${act.group} does not divide the model's ${name} ${n}`);
  }
}

/** What a rotated checkpoint needs at run time (lithe.json "online"); the loader installs it. */
export interface StoredOnline {
  r4: boolean;
}

export function storedOnline(model: DecoderModel): StoredOnline | null {
  return model.source.online ?? null;
}

export interface ActQuantFlags {
  aBits?: number;
  aClip?: number;
  aGroup?: number;
  aSym?: boolean;
  kvBits?: number;
  kBits?: number;
  vBits?: number;
  kvClip?: number;
}

/** Activation/KV settings from the flags on top of a checkpoint's online rotations; R3 wherever keys are quantized in a rotated model. */
export function onlineConfig(f: ActQuantFlags, stored: StoredOnline | null): OnlineConfig {
  const a = f.aBits ?? 16, k = f.kBits ?? f.kvBits ?? 16, v = f.vBits ?? f.kvBits ?? 16;
  const kv = (bits: number): ActQuant | null => (bits < 16 ? { ...KV_DEFAULTS, bits, clip: f.kvClip ?? KV_DEFAULTS.clip } : null);
  return {
    r4: !!stored?.r4,
    r3: !!stored && k < 16,
    act: a < 16 ? { bits: a, asym: !f.aSym, clip: f.aClip ?? ACT_DEFAULTS.clip, group: f.aGroup ?? ACT_DEFAULTS.group } : null,
    k: kv(k),
    v: kv(v),
  };
}

export function describeOnline(c: OnlineConfig): string {
  const q = (x: ActQuant | null) => (x ? `${x.bits}-bit ${x.asym ? 'asym' : 'sym'}${x.clip !== 1 ? ` clip ${x.clip}` : ''}` : '16-bit');
  return `activations ${q(c.act)}, K ${q(c.k)}, V ${q(c.v)}${c.r4 ? ', online R4' : ''}${c.r3 ? ', online R3' : ''}`;
}
