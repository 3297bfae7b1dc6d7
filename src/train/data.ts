/**
 * Labelled image sets for training classifiers: float pixels (N x C x H x W, values scaled by the reader) and i32
 * labels; a seeded split into train and held-out parts; mini-batches of a permutation.
 */
import { FormatError } from '../util/errors.js';
import { Rng } from './rng.js';

export interface LabelledImages {
  /** N x (C H W) floats */
  images: Float32Array;
  labels: Int32Array;
  /** [C, H, W] of one image */
  shape: [number, number, number];
  classes: number;
  /** class names by label (folders) or digits */
  classNames?: string[];
  source: string;
}

export const imageSize = (d: LabelledImages): number => d.shape[0] * d.shape[1] * d.shape[2];
export const count = (d: LabelledImages): number => d.labels.length;

/** Throws a FormatError naming the source when a label lies outside [0, classes). */
export function checkLabels(d: LabelledImages): void {
  const bad = d.labels.findIndex((l) => !(l >= 0 && l < d.classes));
  if (bad >= 0) throw new FormatError(d.source, `label ${d.labels[bad]} of item ${bad} is outside [0, ${d.classes})`);
  if (d.images.length !== d.labels.length * imageSize(d)) throw new FormatError(d.source, `${d.images.length} pixels for ${d.labels.length} images of [${d.shape}]`);
}

/** The items at `idx`, in that order. */
export function subset(d: LabelledImages, idx: ArrayLike<number>, source = d.source): LabelledImages {
  const n = imageSize(d), images = new Float32Array(idx.length * n), labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    images.set(d.images.subarray(idx[i]! * n, (idx[i]! + 1) * n), i * n);
    labels[i] = d.labels[idx[i]!]!;
  }
  return { ...d, images, labels, source };
}

/** A seeded random split: `trainCount` items for training, the rest held out. */
export function splitSeeded(d: LabelledImages, trainCount: number, seed: number): { train: LabelledImages; heldOut: LabelledImages } {
  const perm = new Rng(seed).permutation(count(d));
  return { train: subset(d, perm.subarray(0, trainCount), `${d.source} (train split)`), heldOut: subset(d, perm.subarray(trainCount), `${d.source} (held-out split)`) };
}

/** Batch `b` of `batch` items of a permutation: pixels and labels (the last batch may be short). */
export function batchOf(d: LabelledImages, perm: Int32Array, b: number, batch: number): { x: Float32Array; y: Int32Array } {
  const n = imageSize(d), start = b * batch, len = Math.min(batch, perm.length - start);
  const x = new Float32Array(len * n), y = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    const k = perm[start + i]!;
    x.set(d.images.subarray(k * n, (k + 1) * n), i * n);
    y[i] = d.labels[k]!;
  }
  return { x, y };
}
