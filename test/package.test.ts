// The package as a user gets it: `npm pack`, then `npm install` of the tarball into a fresh project (optional
// dependencies omitted, as `npm install --omit=optional` does), then the CLI (`npx lithe demo --json`, `--version`,
// `--backend webgpu` without the optional webgpu package), every API script in test/package/*.mjs, and a strict
// type check of a consumer (skipLibCheck false, NodeNext) against the shipped types. The folder is removed at exit
// (tempDir).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lastJson, repoRoot } from './helpers.js';
import { tempDir } from './temp-dir.js';

const scriptsDir = path.join(repoRoot, 'test/package');
const repoPkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** the environment without what `npm test` sets for the repository's own package (its prefix, scripts, fields) */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_(package_|lifecycle_|config_local_prefix$|config_prefix$|config_onnxruntime)/i.test(k) || k === 'INIT_CWD') delete env[k];
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout });
}

const ok = (r: SpawnSyncReturns<string>, what: string) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}${r.error ?? ''}`);

let project = '';
let packed: string[] = [];

before(() => {
  const dir = tempDir('lithe-package-');
  const pack = run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], repoRoot);
  ok(pack, 'npm pack');
  const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packed = info[0]!.files.map((f) => f.path);
  project = path.join(dir, 'project');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'lithe-consumer', version: '1.0.0', private: true, type: 'module' }));
  const install = run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', '--ignore-scripts', path.join(dir, info[0]!.filename)], project);
  ok(install, 'npm install of the tarball');
});

describe('the packed package', () => {
  test('ships the kernels and LICENSE, and no source maps', () => {
    for (const f of ['dist/kernels/lithe-simd.wasm', 'dist/kernels/lithe-relaxed.wasm', 'LICENSE', 'bin/lithe.js', 'dist/src/index.d.ts']) assert.ok(packed.includes(f), `${f} is not in the tarball`);
    assert.deepEqual(packed.filter((f) => f.endsWith('.map')), []);
    const js = packed.filter((f) => f.endsWith('.js') && f.startsWith('dist/src/'));
    const mapped = js.filter((f) => readFileSync(path.join(project, 'node_modules/lithe', f), 'utf8').includes('sourceMappingURL'));
    assert.deepEqual(mapped, [], 'shipped .js files point at source maps');
  });

  test('npx lithe demo --json runs the embedded model (loss 1.4388)', () => {
    const r = run(npx, ['--no', '--', 'lithe', 'demo', '--json'], project);
    ok(r, 'npx lithe demo');
    const j = lastJson(r.stdout) as { mean_nll: number; tokens: number };
    assert.equal(j.mean_nll.toFixed(4), '1.4388');
    assert.equal(j.tokens, 19380);
  });

  test('npx lithe --version prints the version in package.json', () => {
    const r = run(npx, ['--no', '--', 'lithe', '--version'], project);
    ok(r, 'npx lithe --version');
    assert.equal(r.stdout.trim(), repoPkg.version);
  });

  test('webgpu is optional: not installed, and --backend webgpu says how to add it in one line (exit 2)', () => {
    assert.ok(!existsSync(path.join(project, 'node_modules/webgpu')), 'webgpu was installed with --omit=optional');
    const r = run(npx, ['--no', '--', 'lithe', 'demo', '--backend', 'webgpu'], project);
    assert.equal(r.status, 2, r.stderr);
    assert.deepEqual(r.stderr.trim().split('\n'), ['lithe: --backend webgpu: needs the optional package webgpu (Dawn), which is not installed: npm install webgpu@0.6.2']);
    const auto = run(npx, ['--no', '--', 'lithe', 'generate', path.join(project, 'node_modules/lithe/assets/stories260K/stories260K.bin'), '--max-tokens', '3', '--greedy', '--backend', 'auto', '--json'], project);
    ok(auto, '--backend auto without webgpu');
    assert.match(String(lastJson(auto.stdout)['backend']), /^cpu/);
  });

  for (const script of readdirSync(scriptsDir).filter((f) => f.endsWith('.mjs')).sort()) {
    test(`API script test/package/${script}`, () => {
      copyFileSync(path.join(scriptsDir, script), path.join(project, script));
      ok(run(process.execPath, [script], project), script);
    });
  }

  test("the README's library example is test/package/compress.mjs, verbatim", () => {
    const script = readFileSync(path.join(scriptsDir, 'compress.mjs'), 'utf8');
    const example = script.slice(script.indexOf('// --- README example: begin\n') + 29, script.indexOf('// --- README example: end'));
    assert.ok(example.length > 200);
    assert.ok(readFileSync(path.join(repoRoot, 'README.md'), 'utf8').includes(example), 'README.md does not hold the example of test/package/compress.mjs');
  });

  test('the shipped types check in a strict NodeNext consumer with skipLibCheck false', () => {
    copyFileSync(path.join(scriptsDir, 'types.ts'), path.join(project, 'types.ts'));
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { skipLibCheck: false, module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true },
      files: ['types.ts'],
    }));
    const r = run(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', project], project);
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  });
});
