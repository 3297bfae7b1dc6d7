/**
 * The geometry of 2-D upsampling by integer factors (PyTorch's nn.Upsample / F.interpolate with scale_factor):
 * nearest (out[o] = x[floor(o / s)]) or bilinear with align_corners false (source coordinate (o + 0.5) / s - 0.5,
 * clamped at 0, PyTorch's default and ONNX Resize's half_pixel) or true (source o (I - 1) / (O - 1)).
 */
export type UpsampleMode = 'nearest' | 'bilinear';

export interface Upsample2dParams {
  /** integer factors [sh, sw] >= 1 */
  scale: readonly [number, number];
  mode: UpsampleMode;
  /** bilinear only: corners of input and output aligned (default false) */
  alignCorners?: boolean;
}

/** the mode as the kernels' integer: 0 nearest, 1 bilinear, 2 bilinear with aligned corners */
export const modeCode = (p: Upsample2dParams): number => (p.mode === 'nearest' ? 0 : p.alignCorners ? 2 : 1);

export const upsampleOutShape = (H: number, W: number, p: Upsample2dParams): [number, number] => [H * p.scale[0], W * p.scale[1]];
