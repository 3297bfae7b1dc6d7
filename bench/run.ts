/**
 * `npm run bench -- NAME`: runs a benchmark, prints its table and appends it with the machine's description
 * to bench/RESULTS.md. Benchmarks: gemm (kernel GFLOP/s), ppl (reference model on WikiText-2: value vs the
 * transformers reference and tokens/s; needs ../shared/data).
 */
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchGemm } from '../src/eval/bench-gemm.js';
import { gemmTable } from '../src/cli/commands/bench.js';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { loadModel } from '../src/io/load-model.js';
import { readText } from '../src/data/text.js';
import { perplexity } from '../src/eval/perplexity.js';
import { markdownTable } from '../src/cli/output.js';
import { createProgress } from '../src/cli/progress.js';
import { machineDescription } from '../src/util/machine.js';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.LITHE_SHARED_DATA ?? path.resolve(root, '../shared/data');

function record(name: string, command: string, table: string, notes = ''): void {
  const entry = `\n## ${name} — ${new Date().toISOString().slice(0, 10)}\n\nMachine: ${machineDescription()}  \nCommand: \`${command}\`\n\n${table}\n${notes ? `\n${notes}\n` : ''}`;
  console.log(entry);
  appendFileSync(path.join(root, 'bench/RESULTS.md'), entry);
}

async function gemm(): Promise<void> {
  const rows = await benchGemm([1, os.availableParallelism()], 2);
  record('gemm', 'npm run bench -- gemm', gemmTable(rows),
    'Ceiling for comparison (engine-options.md, same machine kind): a native AVX-512 8x32 kernel reaches ~187 GFLOP/s on one core; OpenBLAS SkylakeX 190 / 366 (1 / 2 threads).');
}

async function ppl(): Promise<void> {
  const model = path.join(shared, 'llm/lithe-ref-a');
  const data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  if (!existsSync(model) || !existsSync(data)) {
    console.log(`ppl: skipped, ${model} or ${data} not present`);
    return;
  }
  const reference = 117.26157843516624;
  const backend = await CpuBackend.create();
  const m = await loadModel(backend, model);
  const stream = m.tokenizer!.encode(readText(data), { bos: true });
  const bar = createProgress('ppl', 785, 'windows');
  const r = await perplexity(m, stream, { seqlen: 512, onWindow: (d) => bar.update(d) });
  bar.stop();
  const rel = (r.ppl - reference) / reference;
  record('ppl', 'npm run bench -- ppl', markdownTable(['model', 'data', 'seqlen', 'windows', 'ppl', 'reference (transformers fp32)', 'rel. diff', 'tokens/s', 'backend'],
    [['lithe-ref-a', 'WikiText-2 raw test', 512, r.windows, r.ppl.toFixed(4), reference.toFixed(4), `${(100 * rel).toFixed(4)}%`, r.tokensPerSecond.toFixed(0), backend.description]]));
  await backend.dispose();
}

const benches: Record<string, () => Promise<void>> = { gemm, ppl };
const name = process.argv[2];
if (!name || !benches[name]) {
  console.error(`usage: npm run bench -- ${Object.keys(benches).join('|')}`);
  process.exit(2);
}
await benches[name]!();
