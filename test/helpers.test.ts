// The test helpers themselves: shared data that is missing skips a test with the reason, except under CI=true, where
// the test fails (run in child processes with LITHE_SHARED_DATA pointing at a folder that does not exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './helpers.js';

const bogus = path.join(os.tmpdir(), 'lithe-no-such-shared-data');
// NODE_TEST_CONTEXT is dropped so that a child `node --test` reports on its own stdout, not to this runner.
const env = (ci: string) => {
  const e: NodeJS.ProcessEnv = { ...process.env, LITHE_SHARED_DATA: bogus, CI: ci };
  delete e['NODE_TEST_CONTEXT'];
  return e;
};

test('sharedData: a missing path gives a skip reason, or throws under CI=true', () => {
  const helpers = pathToFileURL(path.join(repoRoot, 'dist/test/helpers.js')).href;
  const probe = `import(${JSON.stringify(helpers)}).then((h) => { try { console.log(JSON.stringify(h.sharedData('llm/lithe-ref-a'))); } catch (e) { console.log('threw: ' + e.message); } });`;
  const local = spawnSync(process.execPath, ['-e', probe], { env: env('false'), encoding: 'utf8' });
  const got = JSON.parse(local.stdout) as { path?: string; skip: string };
  assert.equal(got.path, undefined);
  assert.match(got.skip, /lithe-no-such-shared-data[/\\]llm[/\\]lithe-ref-a is not present/);
  const ci = spawnSync(process.execPath, ['-e', probe], { env: env('true'), encoding: 'utf8' });
  assert.match(ci.stdout, /^threw: .*lithe-no-such-shared-data[/\\]llm[/\\]lithe-ref-a is not present.*under CI=true a test that needs it fails instead of skipping/);
});

test('a test file that needs shared data: skipped locally, failed under CI=true', () => {
  const file = path.join(repoRoot, 'dist/test/tokenizer.test.js');
  const local = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], { env: env('false'), encoding: 'utf8' });
  assert.equal(local.status, 0, local.stdout + local.stderr);
  assert.match(local.stdout, /# skipped: .*lithe-ref-a is not present/);
  const ci = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], { env: env('true'), encoding: 'utf8' });
  assert.notEqual(ci.status, 0, 'under CI=true a missing shared folder must fail the run');
  assert.match(ci.stdout + ci.stderr, /under CI=true a test that needs it fails instead of skipping/);
});
