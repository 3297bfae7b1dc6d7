/**
 * Training checkpoints: a folder of
 *   model.safetensors      parameters and buffers by name (F32), metadata {arch}
 *   optimizer.safetensors  the optimizer's state tensors (`<param>.exp_avg`, ...), metadata {kind, step}
 *   trainer.json           {format, arch, optimizer: {kind, hyper, step}, step, epoch, rng: four u32 words, extra}
 * Written to a sibling temporary folder and swapped in, so an interrupted save never leaves a half checkpoint.
 * Loading checks the architecture, every tensor's presence and shape, and the optimizer kind: a mismatch is a
 * FormatError naming the file and the field.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { TensorMap } from '../io/raw-tensor.js';
import { writeFileAtomic } from '../io/files.js';
import type { Tensor } from '../tensor/tensor.js';
import { FormatError, InputError } from '../util/errors.js';
import type { Param } from '../autograd/param.js';
import type { Optimizer } from './optimizers.js';
import type { RngState } from './rng.js';

export const CHECKPOINT_FORMAT = 'lithe-train-1';

export interface TrainerState {
  step: number;
  epoch: number;
  rng: RngState;
  /** anything else the loop keeps (best accuracy, the last loss, the split seed) */
  extra: Record<string, unknown>;
}

async function toMap(be: Backend, named: Map<string, Tensor>): Promise<TensorMap> {
  const out: TensorMap = new Map();
  for (const [name, t] of named) {
    const data = await be.read(t);
    out.set(name, { dtype: 'f32', shape: [...t.shape], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  return out;
}

export async function saveCheckpoint(be: Backend, dir: string, arch: string, params: Param[], opt: Optimizer, state: TrainerState): Promise<void> {
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeSafetensors(path.join(tmp, 'model.safetensors'), await toMap(be, new Map(params.map((p) => [p.name, p.value]))), { arch });
  writeSafetensors(path.join(tmp, 'optimizer.safetensors'), await toMap(be, opt.stateTensors()), { kind: opt.kind, step: String(opt.step) });
  const trainer = { format: CHECKPOINT_FORMAT, arch, optimizer: { kind: opt.kind, hyper: opt.hyper, step: opt.step }, ...state };
  writeFileAtomic(path.join(tmp, 'trainer.json'), JSON.stringify(trainer, null, 1) + '\n');
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

function loadInto(be: Backend, file: string, tensors: TensorMap, named: Map<string, Tensor>): void {
  for (const [name, t] of named) {
    const raw = tensors.get(name);
    if (!raw) throw new FormatError(file, `has no tensor ${name}`);
    if (raw.dtype !== 'f32' || raw.shape.join(',') !== t.shape.join(',')) throw new FormatError(file, `${name} is ${raw.dtype}[${raw.shape}], expected f32[${t.shape}]`);
    be.write(t, raw.data.slice());
  }
}

/** Reads a checkpoint into the parameters and optimizer state (same architecture); returns the trainer state. */
export function loadCheckpoint(be: Backend, dir: string, arch: string, params: Param[], opt: Optimizer): TrainerState {
  const tj = path.join(dir, 'trainer.json');
  if (!existsSync(tj)) throw new InputError(`${dir}: not a training checkpoint (no trainer.json)`);
  let trainer: { format?: string; arch?: string; optimizer?: { kind?: string; step?: number }; step?: number; epoch?: number; rng?: number[]; extra?: Record<string, unknown> };
  try {
    trainer = JSON.parse(readFileSync(tj, 'utf8'));
  } catch (e) {
    throw new FormatError(tj, `is not JSON (${(e as Error).message})`);
  }
  if (trainer.format !== CHECKPOINT_FORMAT) throw new FormatError(tj, `format is ${JSON.stringify(trainer.format)}, expected ${CHECKPOINT_FORMAT}`);
  if (trainer.arch !== arch) throw new FormatError(tj, `is a checkpoint of architecture ${JSON.stringify(trainer.arch)}, not ${JSON.stringify(arch)}`);
  if (trainer.optimizer?.kind !== opt.kind) throw new FormatError(tj, `optimizer is ${JSON.stringify(trainer.optimizer?.kind)}, not ${opt.kind}`);
  const rng = trainer.rng;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) throw new FormatError(tj, 'rng must be four 32-bit words');
  if (!Number.isInteger(trainer.step) || !Number.isInteger(trainer.epoch)) throw new FormatError(tj, 'step and epoch must be integers');
  const mf = path.join(dir, 'model.safetensors'), of = path.join(dir, 'optimizer.safetensors');
  loadInto(be, mf, readSafetensors(mf).tensors, new Map(params.map((p) => [p.name, p.value])));
  loadInto(be, of, readSafetensors(of).tensors, opt.stateTensors());
  opt.step = trainer.optimizer.step ?? 0;
  return { step: trainer.step!, epoch: trainer.epoch!, rng: rng as RngState, extra: trainer.extra ?? {} };
}
