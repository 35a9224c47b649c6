// What a child process says: the tail of its output (for a startup failure) and a count of its
// JSON log lines at warn, error or fatal level, by level and message.
import type { Readable } from 'node:stream';

const TAIL_LINES = 20;

/** Log lines by `level: message`; a caller may share one across a relay's restarts. */
export type LogCounts = Record<string, number>;

export interface CapturedOutput {
  readonly tail: () => string;
  readonly counts: LogCounts;
}

export function captureOutput(
  child: { readonly stdout: Readable; readonly stderr: Readable },
  counts: LogCounts = {},
): CapturedOutput {
  const tail: string[] = [];
  const onLine = (line: string): void => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    const level = /"level":"(warn|error|fatal)"/.exec(line)?.[1];
    if (level !== undefined) {
      const message = `${level}: ${/"msg":"([^"]*)"/.exec(line)?.[1] ?? '?'}`;
      counts[message] = (counts[message] ?? 0) + 1;
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
  return { tail: () => tail.join('\n'), counts };
}
