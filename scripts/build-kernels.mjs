// Compiles the AssemblyScript kernels (every src/kernels/<op>/assembly.ts, as entry files of one module) twice:
// plain SIMD128 and relaxed SIMD (FMA). The runtime picks the relaxed build when WebAssembly.validate accepts it
// (see src/backend/cpu/wasm.ts) and reads the kernel names from the module's exports.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const asc = path.join(path.dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const out = 'dist/kernels';
mkdirSync(out, { recursive: true });
const entries = readdirSync('src/kernels').map((d) => `src/kernels/${d}/assembly.ts`).filter((f) => existsSync(f)).sort();
const common = [...entries, '-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--sharedMemory',
  '--initialMemory', '17', '--maximumMemory', '65536', '--enable', 'threads', '--enable', 'simd', '--memoryBase', '0'];
for (const [name, extra] of [['lithe-simd.wasm', []], ['lithe-relaxed.wasm', ['--enable', 'relaxed-simd']]]) {
  execFileSync(process.execPath, [asc, ...common, ...extra, '-o', path.join(out, name)], { stdio: 'inherit' });
}
console.log(`kernels: ${out}/lithe-simd.wasm, ${out}/lithe-relaxed.wasm`);
