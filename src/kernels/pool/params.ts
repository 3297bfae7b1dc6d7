/** The geometry of 2-D pooling (no dilation, floor rounding of the output size, as ONNX with ceil_mode 0). */
export interface Pool2dParams {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  /** [top, left, bottom, right]; each side smaller than the kernel along its axis */
  pad: readonly [number, number, number, number];
  /** avg_pool2d: divide by kh*kw (true, PyTorch's default) or by the taps inside the image (false, ONNX's default) */
  countIncludePad?: boolean;
}

export function poolOutShape(H: number, W: number, p: Pool2dParams): [number, number] {
  return [Math.floor((H + p.pad[0] + p.pad[2] - p.kernel[0]) / p.stride[0]) + 1, Math.floor((W + p.pad[1] + p.pad[3] - p.kernel[1]) / p.stride[1]) + 1];
}
