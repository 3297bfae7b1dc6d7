/** Reverse-mode autograd: the tape, parameters and buffers, and the differentiable operations (F). */
export { Tape } from './tape.js';
export { Param, maskGradient, applyMask, type GradHook } from './param.js';
export * as F from './functional.js';
