// A private `redis-server` process on a free loopback port for fault-injection tests: killed with
// any signal and restarted on the same port and folder, with AOF `appendfsync always`, so what it
// acknowledged before a SIGKILL is there again after the restart (PROTOCOL §4 durability).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './spawn-relay.js';

const STARTUP_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

export interface RedisServerProcess {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The data folder (the AOF lives here); the same across restarts. */
  readonly dir: string;
  /** Whether a redis-server process is running now. */
  readonly running: () => boolean;
  /** Sends `signal` (default SIGKILL) and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts redis-server again on the same port and folder; resolves once it answers PING. */
  restart(): Promise<void>;
  /** Stops it (SIGTERM, SIGKILL after a grace period) and removes the folder. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` (from PATH) with persistence that loses nothing it acknowledged, or with
 * none (`persistence: false`: no AOF, no snapshots, so a restart comes back empty — a newcomer's
 * throwaway Redis, the lost store of PROTOCOL §10 "Re-registration").
 */
export async function startRedisServer(
  options: { readonly persistence?: boolean } = {},
): Promise<RedisServerProcess> {
  const persistence = options.persistence ?? true;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'deaddrop-redis-'));
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        ...(persistence
          ? ['--appendonly', 'yes', '--appendfsync', 'always']
          : ['--appendonly', 'no']),
        '--save',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const spawnFailed = new Promise<never>((_, reject) => {
      started.once('error', reject);
    });
    await Promise.race([waitForPong(port, started, () => output), spawnFailed]);
  };

  const exited = (proc: ChildProcess): Promise<void> =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => {
          proc.once('exit', () => {
            resolve();
          });
        });

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const current = child;
    if (current === undefined) return;
    const gone = exited(current);
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
    child = undefined;
  };

  try {
    await launch();
  } catch (error) {
    await kill();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    kill,
    restart: async () => {
      await kill();
      output = '';
      await launch();
    },
    stop: async () => {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once redis-server answers `PING` with `PONG` (not `-LOADING`); bounded in time. */
async function waitForPong(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during startup:\n${output()}`);
    }
    if (await pingOnce(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not answer PING within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(1_000, () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
