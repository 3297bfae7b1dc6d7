// Runs every compiled test file under Node's test runner (one process per file). The tests get a private temporary
// folder (TMPDIR); the run fails if they leave anything in it, so every test has to clean up what it creates.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? find(p) : name.endsWith('.test.js') ? [p] : [];
  });
}
const only = process.argv.slice(2);
const files = find('dist/test').filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lithe-test-run-'));
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env: { ...process.env, TMPDIR: tmp } });
const left = readdirSync(tmp);
rmSync(tmp, { recursive: true, force: true });
if (left.length > 0) {
  process.stderr.write(`run-tests: the tests left ${left.length} entries in the temporary folder (each test must remove what it creates): ${left.join(', ')}\n`);
  process.exit(1);
}
process.exit(res.status ?? 1);
