// Four Gaussian blobs in 16 dimensions (class = blob) as 1x4x4 "images": the training tests' separable toy data.
import { Rng, type LabelledImages } from '../src/train/index.js';

export function blobs(n: number, seed: number): LabelledImages {
  const r = new Rng(seed), centers = Array.from({ length: 4 }, () => Array.from({ length: 16 }, () => r.normal() * 1.5));
  const images = new Float32Array(n * 16), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = r.int(4);
    for (let j = 0; j < 16; j++) images[i * 16 + j] = centers[labels[i]!]![j]! + r.normal();
  }
  return { images, labels, shape: [1, 4, 4], classes: 4, source: 'blobs' };
}
