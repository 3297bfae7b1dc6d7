// Bundles the browser page (dist/src/web/app.js, compiled by tsc) with esbuild into dist/web/, next to its
// index.html and the two kernel builds. Node built-ins that the shared code imports (the file-system loaders, the
// worker pool) become small browser stand-ins; `webgpu` (Dawn for Node) stays an external import that the page
// never reaches, since navigator.gpu comes first.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const shims = {
  fs: `const no = (n) => () => { throw new Error(n + ': there is no file system in the browser'); };
export const readFileSync = no('readFileSync'), writeFileSync = no('writeFileSync'), statSync = no('statSync'), readdirSync = no('readdirSync'),
  renameSync = no('renameSync'), rmSync = no('rmSync'), mkdirSync = no('mkdirSync'), createReadStream = no('createReadStream'),
  closeSync = no('closeSync'), copyFileSync = no('copyFileSync'), linkSync = no('linkSync'), openSync = no('openSync'), realpathSync = no('realpathSync'),
  unlinkSync = no('unlinkSync');
export const existsSync = () => false;
export default { readFileSync, writeFileSync, statSync, readdirSync, renameSync, rmSync, mkdirSync, existsSync, createReadStream, closeSync, copyFileSync,
  linkSync, openSync, realpathSync, unlinkSync };`,
  path: `export const join = (...p) => p.filter(Boolean).join('/').replace(/\\/+/g, '/');
export const dirname = (p) => p.includes('/') ? p.slice(0, p.lastIndexOf('/')) || '/' : '.';
export const basename = (p) => p.slice(p.lastIndexOf('/') + 1);
export const extname = (p) => { const b = basename(p), i = b.lastIndexOf('.'); return i > 0 ? b.slice(i) : ''; };
export const resolve = join;
export default { join, dirname, basename, extname, resolve };`,
  os: `export const availableParallelism = () => globalThis.navigator?.hardwareConcurrency ?? 1;
export const cpus = () => [];
export default { availableParallelism, cpus };`,
  v8: `export const setFlagsFromString = () => {};
export default { setFlagsFromString };`,
  worker_threads: `export class Worker { constructor() { throw new Error('worker_threads: the browser page runs the kernels on one thread'); } }
export const parentPort = null, workerData = null, isMainThread = true;
export default { Worker, parentPort, workerData, isMainThread };`,
  url: `export const fileURLToPath = (u) => String(u);
export default { fileURLToPath };`,
  'fs/promises': `const no = (n) => async () => { throw new Error(n + ': there is no file system in the browser'); };
export const open = no('open'), stat = no('stat'), readFile = no('readFile');
export default { open, stat, readFile };`,
  stream: `export class Readable {}
export default { Readable };`,
};

await build({
  entryPoints: ['dist/src/web/app.js'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: 'dist/web/app.js',
  external: ['webgpu'],
  logLevel: 'warning',
  plugins: [{
    name: 'node-builtins',
    setup(b) {
      b.onResolve({ filter: /^(node:)?(fs|fs\/promises|path|os|v8|worker_threads|url|stream)$/ }, (a) => ({ path: a.path.replace(/^node:/, ''), namespace: 'shim' }));
      b.onLoad({ filter: /.*/, namespace: 'shim' }, (a) => ({ contents: shims[a.path], loader: 'js' }));
    },
  }],
});
mkdirSync('dist/web', { recursive: true });
copyFileSync('src/web/index.html', 'dist/web/index.html');
for (const f of ['lithe-relaxed.wasm', 'lithe-simd.wasm']) copyFileSync(`dist/kernels/${f}`, `dist/web/${f}`);
console.log('web: dist/web/index.html, app.js');
