// What the CLI touches outside itself, injectable so commands can be tested in-process.
export interface CliIo {
  /** Writes one line (a newline is added) to stdout. */
  readonly out: (line: string) => void;
  /** Writes one line (a newline is added) to stderr. */
  readonly err: (line: string) => void;
  readonly readStdin: () => Promise<string>;
  readonly env: NodeJS.ProcessEnv;
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
  };
}
