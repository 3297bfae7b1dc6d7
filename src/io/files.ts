/** File helpers: reads with typed errors, and writes that never leave a partial file behind. */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
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

/** Write to a temporary sibling, then rename: readers never see a half-written file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    if (existsSync(tmp)) rmSync(tmp, { force: true });
    throw e;
  }
}
