/** Training: optimizers, schedules, clipping, data splits and batches, checkpoints, the classifier loop. */
export * from './optimizers.js';
export * from './schedule.js';
export * from './clip.js';
export * from './checkpoint.js';
export * from './data.js';
export * from './augment.js';
export * from './loop.js';
export * from './rng.js';
export type { TrainableNet } from './net.js';
