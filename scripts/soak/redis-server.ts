// The soak's own redis-server: a free loopback port, a folder of its own, an append-only file
// fsynced on every write (so a kill loses nothing acknowledged), and restarts on that port and folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HOST,
  freePort,
  hasExited,
  stopChild,
  trackChild,
  waitForExit,
} from '../load-support/child-processes.js';
import { isTearingDown, onTeardown } from '../load-support/teardown.js';

const READY_TIMEOUT_MS = 30_000;

export interface RedisRestart {
  readonly exitMs: number;
  readonly readyMs: number;
  readonly outageMs: number;
}

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Exits nobody asked for, as `redis-server exited (<signal or code>)`. */
  readonly unexpectedExits: string[];
  /** Kills with `signal`, waits `downMs` after the exit, starts again; returns the timings. */
  restart(signal: NodeJS.Signals, downMs: number): Promise<RedisRestart>;
}

/** redis-server's version line; throws with an install hint when it is not on PATH. */
export function assertRedisServerInstalled(): string {
  const probe = spawnSync('redis-server', ['--version']);
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'redis-server is not on PATH; install it (e.g. `sudo apt-get install -y redis-server`)',
    );
  }
  return probe.stdout.toString().trim();
}

/** Sends one inline command; resolves with the first reply line, or '' when none comes in 1 s. */
function firstReplyLine(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    let text = '';
    const done = (): void => {
      socket.destroy();
      resolve(text.split('\r\n')[0] ?? '');
    };
    socket.setEncoding('utf8');
    socket.setTimeout(1_000, done);
    socket.on('error', done);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\r\n')) done();
    });
  });
}

/**
 * Starts redis-server in `dir` and returns a handle to restart it (killed with a signal, down for a
 * while, started again on the same port and folder, so it reloads its append-only file).
 */
export async function startOwnRedis(dir: string): Promise<OwnRedis> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = join(dir, 'redis.log');
  // The durability the soak checks: every write fsynced before it is acknowledged, no snapshots.
  const args = [
    ...['--port', String(port), '--bind', HOST, '--dir', dir],
    ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
    ...['--daemonize', 'no', '--logfile', logFile],
  ];
  const logTail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };
  let child: ChildProcess | undefined;
  let expectedExit = true;
  const unexpectedExits: string[] = [];

  /** Starts it; resolves with how long it took to serve commands. */
  const launch = async (): Promise<number> => {
    const launched = trackChild(spawn('redis-server', args, { stdio: 'ignore' }));
    child = launched;
    expectedExit = false;
    launched.once('exit', (code, signal) => {
      if (!expectedExit && !isTearingDown()) {
        unexpectedExits.push(`redis-server exited (${signal ?? String(code)})`);
      }
    });
    const started = performance.now();
    while (performance.now() - started < READY_TIMEOUT_MS) {
      if (hasExited(launched)) throw new Error(`redis-server exited at startup:\n${logTail()}`);
      // `-LOADING` while the append-only file is replayed; `+PONG` once it serves commands.
      if ((await firstReplyLine(port, 'PING')) === '+PONG') return performance.now() - started;
      await sleep(50);
    }
    throw new Error(`redis-server not ready in ${READY_TIMEOUT_MS / 1000} s:\n${logTail()}`);
  };

  await launch();
  onTeardown(async () => {
    expectedExit = true;
    if (child !== undefined) await stopChild(child);
  });

  return {
    port,
    url: `redis://${HOST}:${port}`,
    unexpectedExits,
    async restart(signal, downMs) {
      const current = child;
      if (current === undefined) throw new Error('redis-server is not running');
      expectedExit = true;
      const killed = performance.now();
      current.kill(signal);
      if (!(await waitForExit(current, 10_000))) {
        current.kill('SIGKILL');
        await waitForExit(current, 5_000);
      }
      const exitMs = performance.now() - killed;
      await sleep(downMs);
      const readyMs = await launch();
      return { exitMs, readyMs, outageMs: performance.now() - killed };
    },
  };
}
