/**
 * The contract of a weight quantizer (the method registry, registry.ts): a module exports a `QuantMethod` with its
 * name, the statistics it needs, its options and `quantize`, which puts one linear's weights on a grid (returning
 * the dequantized weights and the grid the packer stores). quantize-model.ts runs it over a model.
 */
import type { MethodInfo } from '../util/method-options.js';
import type { QuantGrid, WeightQuantSpec } from './weight-quantizer.js';

export interface QuantLayer {
  weight: Float32Array;
  rows: number;
  cols: number;
  /** the linear's name inside its block */
  name: string;
  /** H = 2/n sum X^T X of the linear's input (methods that declare a Hessian) */
  hessian(): Float64Array;
}

/** The grid every weight quantizer shares: bits, symmetric or not, MSE clip search, and columns per group (-1: per channel). */
export interface GridSpec extends WeightQuantSpec {
  group: number;
}

export interface QuantOutcome {
  /** the dequantized weights, exactly on `grid` */
  weight: Float32Array;
  /** null where the grid has no natural column order to pack (act-order with groups) */
  grid: QuantGrid | null;
  detail?: Record<string, number>;
}

export interface QuantMethod<O extends object = object> extends MethodInfo<O> {
  readonly kind: 'quantize';
  /** the block's sub-layer passes (one statistics pass per group of inputs; GPTQ's true-sequential order) */
  sequential?(o: O): boolean;
  quantize(layer: QuantLayer, grid: GridSpec, o: O): QuantOutcome;
}
