// A repository entry point run from TypeScript sources (tsx, the `@deaddrop/source` condition) as
// its own process for end-to-end tests: its output collected, and a stop that never hangs.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const STOP_GRACE_MS = 5_000;

export interface SourceProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  readonly output: () => string;
  /** SIGTERM, wait for exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** Runs `node … <entry> ...args` in the repository root with exactly `env`. */
export function startSourceProcess(
  entry: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): SourceProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@deaddrop/source', '--import', 'tsx', entry, ...args],
    { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stdin.end();
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
