import { defaultThreads } from '../options.js';
import { stderrLine } from '../output.js';
import type { CommonFlags, Context } from './common.js';
import { CPU_GEMM_SHAPES, GPU_GEMM_SHAPES, GemmRow, OptionError, benchGemm, createBackend, gemmRows, gemmTable, isSoftwareAdapter, machineDescription } from '../../index.js';

export async function benchCommand(name: string, flags: CommonFlags, ctx: Context): Promise<void> {
  if (name !== 'gemm') throw new OptionError('bench', `unknown benchmark "${name}" (available: gemm)`);
  const all = flags.threads ?? defaultThreads();
  let rows: GemmRow[];
  if (flags.backend && flags.backend !== 'cpu') {
    const be = await createBackend(flags.backend, all, stderrLine);
    try {
      rows = await gemmRows(be, be.name === 'cpu' || isSoftwareAdapter(be.description) ? CPU_GEMM_SHAPES : GPU_GEMM_SHAPES, 1, be.description);
    } finally {
      await be.dispose();
    }
  } else {
    rows = await benchGemm([...new Set([1, all])]);
  }
  ctx.out.line(machineDescription());
  ctx.out.line(gemmTable(rows));
  ctx.out.result({ benchmark: 'gemm', machine: machineDescription(), rows });
}
