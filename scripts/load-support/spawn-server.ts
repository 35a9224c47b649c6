// An HTTP server a run measures or loads, as a child `node` process on a loopback port: started,
// waited for until it answers, and stopped at teardown at the latest.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST, ROOT, freePort, hasExited, stopChild, trackChild } from './child-processes.js';
import { getJson } from './http-json.js';
import { captureOutput, type CapturedOutput, type LogCounts } from './output-capture.js';
import { onTeardown } from './teardown.js';

const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;

export interface ServerOptions {
  /** What the server is, for error messages: "relay", "baseline". */
  readonly name: string;
  /** `node` arguments: flags, then the entry file and its arguments. */
  readonly args: readonly string[];
  /** The whole environment (PORT and HOST are added). */
  readonly env: Readonly<Record<string, string>>;
  /** A GET path that answers 200 once the server serves. */
  readonly readyPath: string;
  readonly cwd?: string;
  /** A port to listen on (to come back where clients expect it after a restart); else a free one. */
  readonly port?: number;
  /** Where its warn and error log lines are counted, e.g. one tally across restarts. */
  readonly logCounts?: LogCounts;
}

export interface ServerProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly output: CapturedOutput;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  readonly stop: () => Promise<void>;
}

/** Spawns `node ...args` on a loopback port and resolves once `readyPath` answers 200. */
export async function spawnServer(options: ServerOptions): Promise<ServerProcess> {
  const { name, args, env, readyPath, cwd = ROOT, logCounts } = options;
  const port = options.port ?? (await freePort());
  const child = trackChild(
    spawn(process.execPath, args, {
      cwd,
      env: { ...env, PORT: String(port), HOST },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output = captureOutput(child, logCounts);
  const stop = onTeardown(() => stopChild(child));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited(child)) throw new Error(`${name} exited at startup:\n${output.tail()}`);
    if ((await getJson({ host: HOST, port, path: readyPath })) !== null) break;
    if (Date.now() > deadline) {
      throw new Error(`${name} not ready in ${READY_TIMEOUT_MS / 1000} s:\n${output.tail()}`);
    }
    await sleep(READY_POLL_MS);
  }
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  return { child, pid: child.pid, host: HOST, port, url: `http://${HOST}:${port}`, output, stop };
}
