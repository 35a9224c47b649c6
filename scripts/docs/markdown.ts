// The Markdown the generated regions of the docs are made of: code spans and tables whose cells
// may hold any text (a `|` would otherwise end a cell, a newline the row).

/** `text` as a code span, with a fence longer than any run of backticks inside it. */
export function code(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padded = text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text;
  return `${fence}${padded}${fence}`;
}

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** A GitHub-flavoured table; prettier aligns it afterwards. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  for (const row of rows) {
    if (row.length !== header.length)
      throw new Error(`table row has ${row.length} cells, the header ${header.length}`);
  }
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
