/**
 * Safe output: every file or folder a command writes goes through here, so outputs never clobber and faults lose
 * nothing.
 * - An output may not be one of the inputs (resolved real paths, or the same inode), nor an existing file inside an
 *   input folder (a model's config.json).
 * - An existing file is replaced only with `force` (--force); a folder output must be absent or empty and is never
 *   deleted or replaced: the finished folder is renamed onto it, which fails if anything was put into it meanwhile.
 * - TARGET.lock (exclusive create, holding the PID) keeps a second writer out; it fails at once naming the holder.
 * - The temporary TARGET.tmp-PID is created next to the target before any work, so an unwritable place fails up
 *   front; the result is written into it and renamed into place. Temporaries and locks of dead processes (kill -9)
 *   are removed by later runs; this process removes its own on any failure and at exit.
 * - ENOSPC, EACCES, EROFS, ENOTDIR and the like become a one-line InputError naming the path (CLI exit code 2).
 * Test hook: LITHE_INJECT_WRITE_ERROR=CODE:STAGE (STAGE: prepare = the up-front check, write = the final write)
 * makes that step fail with errno CODE, to test a full disk or (as root) a read-only folder.
 */
import { closeSync, copyFileSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';

const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EACCES: 'permission denied', EPERM: 'operation not permitted',
  EROFS: 'read-only file system', ENOTDIR: 'a part of the path is a file, not a folder', EISDIR: 'is a folder', ENAMETOOLONG: 'name too long',
  ENOENT: 'a folder on the path does not exist', EFBIG: 'file too large',
};

/** A file-system error while writing `target` as a one-line InputError naming it; other errors unchanged. */
export function writeError(target: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && code in WRITE_ERRORS) return new InputError(`${target}: cannot write (${WRITE_ERRORS[code]}, ${code})`);
  return e as Error;
}

function injectedFault(stage: 'prepare' | 'write'): void {
  const spec = process.env['LITHE_INJECT_WRITE_ERROR'];
  if (!spec) return;
  const [code, at = 'write'] = spec.split(':');
  if (at !== stage) return;
  const e = new Error(`${code}: injected by LITHE_INJECT_WRITE_ERROR`) as NodeJS.ErrnoException;
  e.code = code;
  throw e;
}

/** Whether a process with this id is running (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Real path of p; for a path that does not exist yet, the real path of its nearest existing parent + the rest. */
function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(canonical(parent), path.basename(p));
  }
}

function statLenient(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function checkNotInput(target: string, kind: 'file' | 'folder', inputs: readonly (string | undefined)[]): void {
  const real = canonical(path.resolve(target));
  const st = statLenient(real);
  for (const input of inputs) {
    if (input === undefined || input === '') continue;
    const ri = canonical(path.resolve(input));
    const si = statLenient(ri);
    if (ri === real || (st && si && st.dev === si.dev && st.ino === si.ino)) throw new InputError(`${target}: is also an input (${input}); choose another output`);
    if (kind === 'file' && st && si?.isDirectory() && real.startsWith(ri + path.sep)) {
      throw new InputError(`${target}: is a file of the input ${input}; choose another output`);
    }
  }
}

/**
 * Removes the entries of `dir` that `pidOf` attributes to a process that no longer runs (left by kill -9); `pidOf`
 * returns the writer's PID of a name, or null for names that are not such leftovers.
 */
export function removeDeadProcessEntries(dir: string, pidOf: (name: string) => number | null): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = pidOf(name);
    if (pid !== null && pid !== process.pid && !processAlive(pid)) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/** Removes TARGET.tmp-PID[-...] left by processes that no longer run (kill -9 during a write). */
function removeStaleTemporaries(abs: string): void {
  const prefix = `${path.basename(abs)}.tmp-`;
  removeDeadProcessEntries(path.dirname(abs), (name) => {
    const m = name.startsWith(prefix) ? /^(\d+)(-[\w-]*)?$/.exec(name.slice(prefix.length)) : null;
    return m ? Number(m[1]) : null;
  });
}

const active = new Set<SafeOutput>();
let exitHookInstalled = false;

function lockHolder(lock: string): number {
  try {
    return Number.parseInt(readFileSync(lock, 'utf8'), 10);
  } catch {
    return NaN;
  }
}

/** TARGET.lock with this PID, created whole (written under a temporary name, then hard-linked: exclusive). */
function acquireLock(target: string, abs: string): string {
  const lock = `${abs}.lock`, staging = `${abs}.tmp-${process.pid}-lock`;
  for (let attempt = 0; attempt < 5; attempt++) {
    writeFileSync(staging, `${process.pid}\n`);
    try {
      linkSync(staging, lock);
      return lock;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') { // no hard links here: exclusive create
          try {
            closeSync(openSync(lock, 'wx'));
            writeFileSync(lock, `${process.pid}\n`);
            return lock;
          } catch (e2) {
            if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
          }
        } else {
          throw e;
        }
      }
    } finally {
      rmSync(staging, { force: true });
    }
    const pid = lockHolder(lock);
    const mine = [...active].some((o) => o.lock === lock);
    if (mine) throw new InputError(`${target}: named twice as an output`);
    if (processAlive(pid) && pid !== process.pid) throw new InputError(`${target} is being written by process ${pid}`);
    rmSync(lock, { force: true }); // left by a process that no longer runs
  }
  throw new InputError(`${target}: could not take the lock ${lock}`);
}

export interface OutputOptions {
  /** replace an existing file (--force); folders are never replaced */
  force?: boolean;
  /** what the command reads: an output may not be one of these, nor an existing file inside one of these folders */
  inputs?: readonly (string | undefined)[];
}

/** One output, prepared before the work: locked, its temporary created. Call write/commit at the end. */
export class SafeOutput {
  private done = false;
  private released = false;

  private constructor(readonly name: string, readonly path: string, readonly kind: 'file' | 'folder', readonly tmp: string, readonly lock: string, private readonly force: boolean) {}

  /** A file output: refuses inputs and (without force) existing files; fails now if the place is not writable. */
  static file(target: string, o: OutputOptions = {}): SafeOutput {
    return SafeOutput.prepare(target, 'file', o);
  }

  /** A folder output: must be absent or empty; fill `tmp` (put/copyIn), then commit(). */
  static folder(target: string, o: OutputOptions = {}): SafeOutput {
    return SafeOutput.prepare(target, 'folder', { ...o, force: false });
  }

  private static prepare(target: string, kind: 'file' | 'folder', o: OutputOptions): SafeOutput {
    const abs = path.resolve(target.replace(/(.)\/+$/, '$1'));
    checkNotInput(target, kind, o.inputs ?? []);
    let st: Stats | null;
    try {
      st = statOrNull(abs);
    } catch (e) {
      throw writeError(target, e);
    }
    if (kind === 'file' && st?.isDirectory()) throw new InputError(`${target}: is a folder, expected a file name`);
    if (kind === 'file' && st && !o.force) throw new InputError(`${target}: already exists; pass --force to replace it`);
    if (kind === 'folder' && st && !st.isDirectory()) throw new InputError(`${target}: exists and is not a folder; choose another --out`);
    if (kind === 'folder' && st && readdirSync(abs).length > 0) throw new InputError(`${target}: already exists and is not empty; choose another --out or remove it`);
    const tmp = `${abs}.tmp-${process.pid}`;
    let lock = '';
    try {
      injectedFault('prepare');
      mkdirSync(path.dirname(abs), { recursive: true });
      removeStaleTemporaries(abs);
      lock = acquireLock(target, abs);
      if (kind === 'file') closeSync(openSync(tmp, 'wx'));
      else mkdirSync(tmp);
    } catch (e) {
      if (lock) rmSync(lock, { force: true });
      throw writeError(target, e);
    }
    const out = new SafeOutput(target, abs, kind, tmp, lock, !!o.force);
    active.add(out);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => { for (const a of active) a.discard(); });
    }
    return out;
  }

  private fail(e: unknown): never {
    this.discard();
    throw writeError(this.displayName(), e);
  }

  private displayName(): string {
    return this.name;
  }

  /** File output: writes data and renames it into place (replacing an existing file only with force). */
  write(data: string | Uint8Array): void {
    if (this.kind !== 'file' || this.done) throw new Error(`SafeOutput.write: ${this.path} is a ${this.kind} or already written`);
    try {
      injectedFault('write');
      writeFileSync(this.tmp, data);
      if (this.force) renameSync(this.tmp, this.path);
      else this.placeWithoutReplacing();
    } catch (e) {
      if (e instanceof InputError) {
        this.discard();
        throw e;
      }
      this.fail(e);
    }
    this.release();
  }

  private placeWithoutReplacing(): void {
    try {
      linkSync(this.tmp, this.path); // fails if a file appeared meanwhile: nothing is replaced
      unlinkSync(this.tmp);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new InputError(`${this.displayName()}: appeared while writing; left untouched (pass --force to replace it)`);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
      if (statOrNull(this.path)) throw new InputError(`${this.displayName()}: appeared while writing; left untouched (pass --force to replace it)`);
      renameSync(this.tmp, this.path);
    }
  }

  /** Folder output: writes one file into the temporary folder. */
  put(name: string, data: string | Uint8Array): void {
    try {
      injectedFault('write');
      writeFileSync(path.join(this.tmp, name), data);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Folder output: copies a file into the temporary folder. */
  copyIn(source: string, name: string): void {
    try {
      copyFileSync(source, path.join(this.tmp, name));
    } catch (e) {
      this.fail(e);
    }
  }

  /** Folder output: renames the filled temporary folder onto the target (absent or still empty). */
  commit(): void {
    if (this.kind !== 'folder' || this.done) throw new Error(`SafeOutput.commit: ${this.path} is a ${this.kind} or already committed`);
    try {
      renameSync(this.tmp, this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
        const kept = `${this.path}.lithe-${process.pid}`;
        try {
          renameSync(this.tmp, kept);
        } catch (e2) {
          this.fail(e2);
        }
        this.release();
        throw new InputError(`${this.displayName()}: something was put there while writing; left untouched, the result is in ${kept}`);
      }
      this.fail(e);
    }
    this.release();
  }

  private release(): void {
    this.done = true;
    if (this.released) return;
    this.released = true;
    rmSync(this.lock, { force: true });
    active.delete(this);
  }

  /** Removes the temporary and the lock (nothing else); safe to call twice and after write/commit. */
  discard(): void {
    if (!this.done) rmSync(this.tmp, { recursive: true, force: true });
    this.release();
  }
}

/** Write a whole file safely in one call (library use): replaces an existing file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  SafeOutput.file(file, { force: true }).write(data);
}
