// Runs the Python client (python/deaddrop) as a user would: `python3 -m deaddrop …` and scripts,
// with an interpreter that can `import nacl` (PyNaCl). The one on PATH may lack it (a pyenv build
// without Debian's python3-nacl), so the candidates are DEADDROP_PYTHON, /usr/bin/python3, then
// python3, and the first that imports nacl on Python >= 3.11 is used.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@deaddrop/test-support/spawn-relay';

/** The Python package's folder: on PYTHONPATH for every run. */
export const pythonRoot = join(repoRoot, 'python');

const PYTHON_TIMEOUT_MS = 60_000;

function candidates(): string[] {
  const given = process.env.DEADDROP_PYTHON;
  return [...(given === undefined || given === '' ? [] : [given]), '/usr/bin/python3', 'python3'];
}

let found: string | null | undefined;

/** An interpreter that can run the client, or null when none here can import nacl. */
export function findPython(): string | null {
  if (found !== undefined) return found;
  found = null;
  for (const candidate of candidates()) {
    const probe = spawnSync(
      candidate,
      ['-c', 'import sys, nacl.bindings; sys.exit(0 if sys.version_info >= (3, 11) else 1)'],
      { stdio: 'ignore', timeout: 20_000 },
    );
    if (probe.status === 0) {
      found = candidate;
      break;
    }
  }
  return found;
}

/** Why the Python tests are skipped, as the skipped test's name says it. */
export const NO_PYTHON =
  'skipped: no Python >= 3.11 here can import nacl (apt install python3-nacl, or pip install PyNaCl and set DEADDROP_PYTHON)';

export interface PythonRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Client variables from the developer's shell would leak into the run: only `env` counts. */
export function pythonEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('DEADDROP_') && !name.startsWith('PYTHON'),
    ),
  );
  return { ...base, PYTHONPATH: pythonRoot, PYTHONDONTWRITEBYTECODE: '1', ...env };
}

/** Starts `python <args>` in `cwd` (the package folder); `stdin` is written and closed. */
export function startPython(
  args: readonly string[],
  env: Record<string, string>,
  stdin?: string | Uint8Array,
  cwd: string = pythonRoot,
): ChildProcessWithoutNullStreams {
  const python = findPython();
  if (python === null) throw new Error(NO_PYTHON);
  const child = spawn(python, [...args], {
    cwd,
    env: pythonEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(stdin ?? '');
  return child;
}

/** Runs `python <args>` to its end (killed after `timeoutMs`). */
export function runPython(
  args: readonly string[],
  env: Record<string, string>,
  stdin?: string | Uint8Array,
  timeoutMs = PYTHON_TIMEOUT_MS,
  cwd: string = pythonRoot,
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = startPython(args, env, stdin, cwd);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `python3 -m deaddrop <args>` with DEADDROP_HOME set. */
export function runPythonCli(
  home: string,
  args: readonly string[],
  stdin?: string | Uint8Array,
  env: Record<string, string> = {},
): Promise<PythonRun> {
  return runPython(['-m', 'deaddrop', ...args], { DEADDROP_HOME: home, ...env }, stdin);
}
