// The layering of src/ (ARCHITECTURE.md): folders are ranked top to bottom and an import may only go to the same
// rank or below; folders never import each other in a cycle; nothing outside models/ imports a concrete architecture
// (models/<family>/); the CLI reaches the library through src/index.ts. Reads the import graph from the sources.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers.js';

/** Top to bottom. A folder may import its own rank and any rank below it. */
export const LAYERS: string[][] = [
  ['cli', 'web'],
  ['index'],
  ['load', 'export'],
  ['compress'],
  ['prune', 'quant', 'attention', 'vision', 'eval', 'train'],
  ['calib', 'data'],
  ['models', 'nets'],
  ['autograd'],
  ['io'],
  ['ops'],
  ['backend'],
  ['kernels'],
  ['tensor', 'linalg', 'util'],
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));
const src = path.join(repoRoot, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    // AssemblyScript kernels compile into the wasm module, not into the TypeScript import graph
    return name.endsWith('.ts') && name !== 'assembly.ts' && !p.endsWith(path.join('common', 'simd.ts')) ? [p] : [];
  });
}

/** The top folder of a file under src/ ('index' for src/index.ts). */
const folderOf = (file: string) => {
  const rel = path.relative(src, file).split(path.sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
};

interface Edge { from: string; to: string; file: string; target: string }

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      const spec = m[1] ?? m[2]!;
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
      edges.push({ from: folderOf(file), to: folderOf(target), file: path.relative(repoRoot, file), target: path.relative(src, target) });
    }
  }
  return edges;
}

describe('layers of src/', () => {
  const edges = importEdges();

  test('every folder has a layer', () => {
    const folders = [...new Set(sources(src).map(folderOf))];
    const unranked = folders.filter((f) => !rank.has(f));
    assert.deepEqual(unranked, [], `folders missing from LAYERS in test/layers.test.ts: ${unranked.join(', ')}`);
  });

  test('no import goes up a layer', () => {
    const up = edges.filter((e) => rank.get(e.to)! < rank.get(e.from)!).map((e) => `${e.file} imports ${e.target} (${e.from} -> ${e.to})`);
    assert.deepEqual(up, [], `upward imports:\n${up.join('\n')}`);
  });

  test('no cycle between folders', () => {
    const next = new Map<string, Set<string>>();
    for (const e of edges) if (e.from !== e.to) (next.get(e.from) ?? next.set(e.from, new Set()).get(e.from)!).add(e.to);
    const cycles: string[] = [];
    for (const start of next.keys()) {
      const stack: [string, string[]][] = [[start, [start]]];
      const seen = new Set<string>();
      while (stack.length) {
        const [node, trail] = stack.pop()!;
        for (const n of next.get(node) ?? []) {
          if (n === start) cycles.push([...trail, n].join(' -> '));
          else if (!seen.has(n)) { seen.add(n); stack.push([n, [...trail, n]]); }
        }
      }
    }
    const witness = (a: string, b: string) => edges.find((e) => e.from === a && e.to === b)?.file;
    const detail = cycles.map((c) => { const [a, b] = c.split(' -> '); return `${c} (e.g. ${witness(a!, b!)})`; });
    assert.deepEqual(detail, [], `cycles:\n${detail.join('\n')}`);
  });

  test('nothing outside models/ imports a concrete architecture', () => {
    const bad = edges.filter((e) => e.from !== 'models' && /^models[/\\][^/\\]+[/\\]/.test(e.target)).map((e) => `${e.file} imports ${e.target}`);
    assert.deepEqual(bad, [], bad.join('\n'));
  });

  test('the CLI uses the library through src/index.ts', () => {
    const bad = edges.filter((e) => e.from === 'cli' && e.to !== 'cli' && e.to !== 'index').map((e) => `${e.file} imports ${e.target}`);
    assert.deepEqual(bad, [], bad.join('\n'));
  });
});
