// Temporary folders for tests, removed when the test process exits (passed or failed), so a run leaves nothing in
// the temp folder (scripts/run-tests.mjs fails the run when something is left).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder named os.tmpdir()/<prefix>XXXXXX, removed at process exit. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
