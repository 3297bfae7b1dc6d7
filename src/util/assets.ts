/** Files shipped inside the package (assets/): the embedded default model and a small text sample. */
import { fileURLToPath } from 'node:url';

/** Absolute path of assets/<rel> (this module lives in dist/src/util/ once built). */
export function assetPath(rel: string): string {
  return fileURLToPath(new URL(`../../../assets/${rel}`, import.meta.url));
}

export const DEFAULT_MODEL = 'stories260K/stories260K.bin';
export const DEFAULT_TOKENIZER = 'stories260K/tok512.bin';
export const DEFAULT_TEXT = 'text/tinystories-val-200.txt';
export const DEFAULT_CALIBRATION = 'text/c4-validation-2k.jsonl.gz';
export const DEFAULT_STEREO_DATASET = 'stereo/middlebury';
