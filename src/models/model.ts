/**
 * The model interface of calibration and compression: a model is a stack of blocks, each with named linear layers
 * grouped by shared input (statistics groups: the linears that read one input share its statistics), a block
 * forward, and a way to read and replace a linear's weight storage (dense, packed; later sparse). Methods,
 * calibration, evaluation and export see models through this (and, for decoder-specific work, decoder.ts), never
 * through a concrete architecture; the family is chosen from the checkpoint by models/registry.ts.
 */
import type { Backend } from '../backend/backend.js';
import type { PackedWeight } from '../tensor/packed.js';
import type { SparseTensors } from '../tensor/sparse-format.js';
import type { Tensor } from '../tensor/tensor.js';

/** A linear's weights: float32 [out, in] on the backend, packed integer codes, or sparse (kept values + layout). */
export type LinearWeight = Tensor | PackedWeight | SparseTensors;

export interface LinearInfo {
  /** name inside the block, e.g. 'self_attn.q_proj' */
  readonly name: string;
  /** the statistics group of its input */
  readonly group: string;
  /** [out, in] */
  readonly shape: readonly [number, number];
}

export interface StatsGroup {
  readonly name: string;
  /** input width (columns of its linears) */
  readonly width: number;
}

export interface Model {
  readonly backend: Backend;
  /** the architecture family, e.g. 'llama' */
  readonly family: string;
  readonly blockCount: number;
  /** width of the hidden state between blocks */
  readonly hiddenSize: number;
  /** the linears of block i in checkpoint order (the order reference hashes use) */
  linears(block: number): readonly LinearInfo[];
  /** the statistics groups of block i, in the order their inputs are computed */
  statsGroups(block: number): readonly StatsGroup[];
  linearWeight(block: number, name: string): LinearWeight;
  /** the checkpoint name of a linear (its tensor is `${checkpointName}.weight`), e.g. 'model.layers.3.mlp.up_proj' */
  checkpointName(block: number, name: string): string;
  /** replaces a linear's weight storage (the old storage is freed) */
  setLinearWeight(block: number, name: string, w: LinearWeight): void;
  /** hidden states [T, hiddenSize] of token ids (a new tensor; the caller frees it) */
  embed(ids: ArrayLike<number>): Tensor;
  /** runs block i in place on h [T, hiddenSize] */
  block(i: number, h: Tensor, state: { pos0: number }): void;
  /** the input of every statistics group in the last block() call on T tokens (views valid until the next call) */
  groupInputs(T: number): Record<string, Tensor>;
  /** every float weight tensor under its checkpoint name (tied embeddings once) */
  namedWeights(): [string, Tensor][];
}
