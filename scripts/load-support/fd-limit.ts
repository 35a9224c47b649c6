// The open-file limit a run of thousands of streams needs: read from /proc, and raised to the hard
// limit by re-running the script under `prlimit` when the soft one is lower.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

/** Set in the re-run child, so that it does not re-run itself again. */
const REEXEC_MARK = 'BENCH_LIVE_REEXEC';

/** Soft and hard RLIMIT_NOFILE of a process, from /proc. */
export function nofileLimit(pid: number | 'self' = 'self'): FdLimit {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('Max open files'));
  if (line === undefined) throw new Error(`no open-file limit in /proc/${pid}/limits`);
  const [soft, hard] = line
    .trim()
    .split(/\s+/)
    .slice(3, 5)
    .map((value) => (value === 'unlimited' ? Infinity : Number(value)));
  if (soft === undefined || hard === undefined) throw new Error(`unreadable limit: ${line}`);
  return { soft, hard };
}

/**
 * The limit this process runs with. Node cannot call setrlimit, so a process whose soft fd limit is
 * below the hard one re-runs `script` under `prlimit` (or `ulimit -n` in bash) and never returns:
 * it waits for that child and exits with its code; server children inherit the raised limit. (Node
 * raises the soft limit itself at startup on most Unix builds, so this is usually a no-op; the
 * caller checks rather than assumes.)
 */
export async function withRaisedFdLimit(script: string): Promise<FdLimit> {
  const limit = nofileLimit();
  if (limit.soft < limit.hard && process.env[REEXEC_MARK] === undefined) {
    await reexecWithLimit(script, limit.hard);
  }
  return limit;
}

function reexecWithLimit(script: string, hard: number): Promise<never> {
  const value = hard === Infinity ? 'unlimited' : String(hard);
  const argv = [process.execPath, ...process.execArgv, script, ...process.argv.slice(2)];
  const [command, args] =
    spawnSync('prlimit', ['--version']).status === 0
      ? ['prlimit', [`--nofile=${value}:${value}`, ...argv]]
      : ['bash', ['-c', `ulimit -n ${value} && exec "$@"`, 'bash', ...argv]];
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: { ...process.env, [REEXEC_MARK]: '1' },
  });
  // Ctrl-C reaches the whole foreground group: the child tears down and exits by itself.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
  return new Promise(() => undefined);
}
