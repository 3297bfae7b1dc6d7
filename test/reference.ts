// The plain-TS twins of every op (src/kernels/<op>/reference.ts), gathered for the tests.
export * from '../src/kernels/linear/reference.js';
export * from '../src/kernels/packed/reference.js';
export * from '../src/kernels/rmsnorm/reference.js';
export * from '../src/kernels/softmax/reference.js';
export * from '../src/kernels/rope/reference.js';
export * from '../src/kernels/attention/reference.js';
export * from '../src/kernels/block-attention/reference.js';
export * from '../src/kernels/elementwise/reference.js';
export * from '../src/kernels/convert/reference.js';
export * from '../src/kernels/embed/reference.js';
export * from '../src/kernels/hadamard/reference.js';
export * from '../src/kernels/fake-quant/reference.js';
export * from '../src/kernels/conv/reference.js';
export * from '../src/kernels/pool/reference.js';
export * from '../src/kernels/relu/reference.js';
export * from '../src/kernels/channel-affine/reference.js';
