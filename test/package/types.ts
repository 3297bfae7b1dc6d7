// Type-checked in a consumer project (strict, NodeNext, skipLibCheck false) against the installed 'lithe' types.
import { createBackend, CpuBackend, HfTokenizer, loadModel, WebGpuBackend, type Backend, type DecoderConfig } from 'lithe';

export async function use(path: string): Promise<number> {
  const be: Backend = await CpuBackend.create({ threads: 1 });
  const model = await loadModel(be, path);
  const c: DecoderConfig = model.config;
  const gpu: WebGpuBackend | string = await WebGpuBackend.tryCreate();
  const tok: HfTokenizer | undefined = undefined;
  await (await createBackend('cpu')).dispose();
  await be.dispose();
  return c.dim + (typeof gpu === 'string' ? 0 : 1) + (tok ? 1 : 0);
}
