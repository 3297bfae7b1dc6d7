// The pruning report's configuration grid and its Markdown table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reportGrid, reportMarkdown } from '../src/eval/prune-report.js';

describe('prune report', () => {
  test('grid: methods x settings, DSnoT per init and variant, OWL at unstructured settings only', () => {
    const grid = reportGrid({ methods: ['magnitude', 'wanda', 'dsnot'], inits: ['wanda', 'magnitude'], sparsities: [0.5, 0.7], nms: ['2:4'],
      owl: true, dsnotVariants: ['reference', 'width+guard'], cyclesPerColumn: 0.0122 });
    // per setting: magnitude, wanda, 2 inits x 2 variants; OWL (wanda, dsnot) at 50% and 70%
    assert.equal(grid.length, 3 * 6 + 2 * 2);
    assert.ok(grid.every((c) => !(c.variant === 'owl' && c.setting === '2:4')));
    const guarded = grid.find((c) => c.setting === '70%' && c.init === 'magnitude' && c.variant === 'width+guard')!;
    assert.deepEqual(guarded.args, ['--method', 'dsnot', '--init', 'magnitude', '--dsnot-cycles-per-column', '0.0122', '--dsnot-error-guard', '--sparsity', '0.7']);
    assert.deepEqual(grid.find((c) => c.variant === 'owl' && c.method === 'dsnot')!.args.slice(0, 5), ['--method', 'dsnot', '--init', 'wanda', '--owl']);
  });
  test('markdown marks failed runs', () => {
    const md = reportMarkdown([
      { label: 'wanda', setting: '50%', method: 'wanda', init: null, variant: 'reference', sparsity: 0.5, ppl: { 'a.txt': 12.345 }, maskSha256: 'x', seconds: { stats: 1, method: 0.5, forward: 3 } },
      { label: 'sparsegpt', setting: '50%', method: 'sparsegpt', init: null, variant: 'reference', sparsity: NaN, ppl: {}, maskSha256: null, seconds: null, error: 'boom' },
    ], ['a.txt']);
    assert.match(md, /\| 50% +\| wanda +\| 0\.5000 +\| 12\.35 /);
    assert.match(md, /sparsegpt +\| failed +\| error/);
  });
});
