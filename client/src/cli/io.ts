// What the CLI touches outside itself, injectable so commands can be tested in-process.
export interface CliIo {
  /** Writes one line (a newline is added) to stdout. */
  readonly out: (line: string) => void;
  /** Writes one line (a newline is added) to stderr. */
  readonly err: (line: string) => void;
  /**
   * Reads stdin to its end as bytes, or stops once it holds more than `maxBytes` (so what is
   * returned is longer than `maxBytes` exactly when stdin was too long to take).
   */
  readonly readStdin: (maxBytes: number) => Promise<Uint8Array>;
  readonly env: NodeJS.ProcessEnv;
  /**
   * A signal that aborts on Ctrl-C (SIGINT) or SIGTERM, for commands that run until stopped. Asking
   * for it replaces the default exit on those signals; a second one still exits at once.
   */
  readonly interrupted: () => AbortSignal;
}

/** Prints a warning on stderr as the CLI words them: `warning: …`. */
export function warnOn(io: Pick<CliIo, 'err'>): (line: string) => void {
  return (line) => {
    io.err(`warning: ${line}`);
  };
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    readStdin: async (maxBytes) => {
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of process.stdin) {
        const bytes = Buffer.from(chunk as Uint8Array);
        chunks.push(bytes);
        length += bytes.length;
        if (length > maxBytes) break;
      }
      return Buffer.concat(chunks);
    },
    env: process.env,
    interrupted: () => {
      const controller = new AbortController();
      const onSignal = (): void => {
        if (controller.signal.aborted) process.exit(130);
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      return controller.signal;
    },
  };
}
