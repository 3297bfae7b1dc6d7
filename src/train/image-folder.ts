/**
 * An image-classification folder: one subfolder per class (sorted names = labels 0..), each holding images (PNG,
 * PGM or PPM) of one size. Pixels are scaled to [0, 1] and stored as planes (C x H x W); RGBA drops alpha; a folder
 * mixing grey and colour images is read as colour. An unreadable image or a size mismatch is a FormatError naming
 * the file.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readImage } from '../io/image.js';
import { FormatError, InputError } from '../util/errors.js';
import type { LabelledImages } from './data.js';

export function readImageFolder(dir: string): LabelledImages {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (e) {
    throw new InputError(`${dir}: cannot read the image folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const classes = entries.filter((e) => statSync(path.join(dir, e)).isDirectory());
  if (classes.length < 2) throw new InputError(`${dir}: expected one subfolder per class (at least 2), found ${classes.length}`);
  const items: { file: string; label: number }[] = [];
  classes.forEach((c, label) => {
    for (const f of readdirSync(path.join(dir, c)).sort()) {
      const file = path.join(dir, c, f);
      if (statSync(file).isFile() && !f.startsWith('.')) items.push({ file, label });
    }
  });
  if (items.length === 0) throw new InputError(`${dir}: the class folders hold no images`);
  const images = items.map(({ file }) => ({ file, img: readImage(file) }));
  const { width: W, height: H } = images[0]!.img;
  const C = images.some(({ img }) => img.channels >= 3) ? 3 : 1;
  const data = new Float32Array(items.length * C * H * W);
  images.forEach(({ file, img }, n) => {
    if (img.width !== W || img.height !== H) throw new FormatError(file, `is ${img.width}x${img.height}, the folder's first image ${W}x${H}`);
    const max = img.bitDepth === 16 ? 65535 : 255, ch = img.channels;
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) data[((n * C + c) * H * W) + p] = img.data[p * ch + (ch >= 3 ? c : 0)]! / max;
    }
  });
  return { images: data, labels: Int32Array.from(items, (i) => i.label), shape: [C, H, W], classes: classes.length, classNames: classes, source: dir };
}
