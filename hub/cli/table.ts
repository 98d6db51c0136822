/** Plain-text tables for the terminal (column widths in characters; long cells are cut with "…"). */
export function formatTable(headers: string[], rows: string[][], maxWidths: number[] = []): string {
  const cut = (s: string, i: number): string => {
    const max = maxWidths[i];
    const flat = s.replace(/\s+/g, ' ');
    return max !== undefined && [...flat].length > max ? [...flat].slice(0, max - 1).join('') + '…' : flat;
  };
  const cells = [headers, ...rows].map((r) => r.map((c, i) => cut(c, i)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
      .join('  ')
      .trimEnd();
  return cells.map(line).join('\n') + '\n';
}
