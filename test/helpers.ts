// Test helpers: fresh random data (seed printed so a failure can be replayed), relative error, shared-data lookup.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SEED = Number(process.env.LITHE_TEST_SEED ?? (Date.now() % 2 ** 31));

export function rng(seed = SEED): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

export function randn(n: number, r: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** ||a - b|| / ||b|| (L2). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Whether this run is a CI run (CI=true or CI=1, as GitHub Actions and most CI services set it). */
export function isCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/** A path under the shared test data, or why it is not there (the test's `skip` option). */
export type SharedPath = { path: string; skip: false } | { path: undefined; skip: string };

/**
 * `rel` under the shared test data: $LITHE_SHARED_DATA when set (only there), else ../shared/data next to the
 * checkout (CI and developers have it; users do not). When it is missing, tests that need it are skipped with the
 * reason, except under CI, where a skip would let a run pass without checking anything: there it throws.
 */
export function sharedData(rel: string): SharedPath {
  const root = process.env.LITHE_SHARED_DATA || path.resolve(repoRoot, '../shared/data');
  const p = path.join(root, rel);
  if (existsSync(p)) return { path: p, skip: false };
  const why = `${p} is not present (shared test data: set LITHE_SHARED_DATA or put it at ../shared/data)`;
  if (isCi()) throw new Error(`${why}; under CI=true a test that needs it fails instead of skipping`);
  return { path: undefined, skip: `skipped: ${why}` };
}

export function seedNote(): string {
  return `(LITHE_TEST_SEED=${SEED})`;
}

/** Runs the `lithe` command line as a user does; json() parses the last stdout line. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function runLithe(args: string[], timeout = 300_000): { code: number | null; stdout: string; stderr: string; json: () => any } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), ...args], { encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => lastJson(r.stdout) };
}

export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}
