// Runs the real CLI (`client/src/cli/main.ts` under tsx) as a child process, as a user would.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { repoRoot } from '@deaddrop/test-support/spawn-relay';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI_TIMEOUT_MS = 30_000;

/** Client variables from the developer's shell would leak into the run: only `env` counts. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DEADDROP_')),
  );
  return { ...base, ...env };
}

/** `onSpawn` gets the child as it starts, to watch its output or signal it while it runs. */
export function runCliProcess(
  args: readonly string[],
  env: Record<string, string>,
  stdin?: string | Uint8Array,
  onSpawn?: (child: ChildProcessWithoutNullStreams) => void,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@deaddrop/source', '--import', 'tsx', 'client/src/cli/main.ts', ...args],
      { cwd: repoRoot, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    onSpawn?.(child);
    child.stdin.end(stdin ?? '');
  });
}

/** stdout of `receive --json`, one object per line. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
