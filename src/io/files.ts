/** File helpers: reads with typed errors; writes (never a partial file) live in safe-write.ts. */
import { readFileSync, statSync } from 'node:fs';
import { FormatError, InputError } from '../util/errors.js';

export function readFileOrThrow(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${file}: no such file`);
    if (code === 'EISDIR') throw new InputError(`${file}: is a directory, expected a file`);
    throw new InputError(`${file}: cannot read (${code ?? (e as Error).message})`);
  }
}

export function readJson(file: string): unknown {
  const text = readFileOrThrow(file).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, `invalid JSON (${(e as Error).message})`);
  }
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export { writeFileAtomic } from './safe-write.js';
