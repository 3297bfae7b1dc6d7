/** A Markdown table (also readable in a terminal). */
export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(fmt)].join('\n');
}
