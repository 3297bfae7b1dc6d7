/** Small networks beside LLaMA (conv nets): architecture specs, a backend forward pass, init, BN folding, files, the linear view. */
export * from './spec.js';
export * from './net.js';
export * from './init.js';
export * from './fold.js';
export * from './format.js';
export * from './linear-view.js';
export * from './onnx-import.js';
export * from './classify.js';
