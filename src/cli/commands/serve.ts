/**
 * `lithe serve`: the browser page (dist/web, built by scripts/build-web.mjs) on a local HTTP server. The page is
 * served cross-origin isolated (COOP same-origin + COEP require-corp), which browsers require before they allow the
 * shared WebAssembly memory of the CPU kernels. Prints the address, then serves until interrupted.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from './common.js';
import { InputError } from '../../index.js';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json' };

export async function serveCommand(flags: { port: number; host: string; json?: boolean }, ctx: Context): Promise<void> {
  const root = fileURLToPath(new URL('../../../web/', import.meta.url));
  if (!existsSync(path.join(root, 'index.html'))) throw new InputError(`${root}: no index.html (run npm run build)`);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.join(root, path.normalize(rel));
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-store' };
    if (!file.startsWith(root) || !existsSync(file) || !TYPES[path.extname(file)]) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)]! }).end(readFileSync(file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new InputError(`--port ${flags.port}: already in use`) : e));
    server.listen(flags.port, flags.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${flags.host}:${port}/`;
  ctx.out.line(`serving the Lithe page at ${url} (Ctrl-C to stop)`);
  ctx.out.result({ url });
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => server.close(() => resolve())));
}
