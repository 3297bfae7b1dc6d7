/** MNIST IDX files (data/mnist.ts) as labelled images for training: pixels scaled to [0, 1], shape [1, rows, cols], 10 classes. */
import { readMnist } from '../data/mnist.js';
import type { LabelledImages } from './data.js';

export function mnistImages(dir: string, split = 't10k'): LabelledImages {
  const m = readMnist(dir, split);
  return {
    images: Float32Array.from(m.images, (v) => v / 255), labels: Int32Array.from(m.labels), shape: [1, m.rows, m.cols], classes: 10,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)), source: `${dir} (MNIST ${split})`,
  };
}
