/** The models layer as the rest of Lithe sees it: interfaces, the family registry, caches, generation. */
export type { LinearInfo, LinearWeight, Model, StatsGroup } from './model.js';
export { LINEARS, floatWeight, namedWeights, requireTokenizer } from './decoder.js';
export type { ActivationHook, ActivationPoint, BlockState, DecoderModel, DecoderWeights, LayerWeights, LinearInputs, ModelSource } from './decoder.js';
export { validateConfig } from './config.js';
export type { DecoderArch, DecoderConfig, RopeScaling } from './config.js';
export { KVCache } from './cache.js';
export type { AttentionCache } from './cache.js';
export { generate } from './generate.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export { Sampler, argmax } from './sampler.js';
export type { SamplerOptions } from './sampler.js';
export { PACKED_FORMAT, packedTensors, parsePackedFormat, uploadPacked } from './packed-storage.js';
export type { PackedFormat } from './packed-storage.js';
export { FAMILIES, checkModelTensors, createModel, familyFor, parseHfConfig, parseLlama2c, readGguf, readLlama2c } from './registry.js';
export type { GgufModel, ModelFamily, ModelFiles } from './registry.js';
export { SPARSE_FORMAT, isSparseFormat, packSparse, parseSparseFormat, readSparseLinear, sparseCheckpointTensors, sparseFormatOf, sparseSizes, sparseTensorList, uploadSparse } from './sparse-storage.js';
export type { LinearStorageFormat, SparseFormat, SparseTensors } from './sparse-storage.js';
