/** The geometry of a 2-D convolution (a 1-D one is the case H = kh = 1): PyTorch's Conv2d arguments, with the padding per side as ONNX's pads. */
export interface Conv2dParams {
  /** [kh, kw] */
  kernel: readonly [number, number];
  /** [sh, sw] */
  stride: readonly [number, number];
  /** [dh, dw] */
  dilation: readonly [number, number];
  /** [top, left, bottom, right] */
  pad: readonly [number, number, number, number];
  groups: number;
}

/** Output size of one spatial axis: floor((n + padBefore + padAfter - dilation*(k-1) - 1) / stride) + 1. */
export function convOutSize(n: number, k: number, stride: number, dilation: number, padBefore: number, padAfter: number): number {
  return Math.floor((n + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1;
}

/** ONNX auto_pad SAME_UPPER / SAME_LOWER: output ceil(n / stride); the odd padding unit goes after (UPPER) or before (LOWER). */
export function samePadding(n: number, k: number, stride: number, dilation: number, upper: boolean): [number, number] {
  const out = Math.ceil(n / stride);
  const total = Math.max(0, (out - 1) * stride + dilation * (k - 1) + 1 - n);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}
