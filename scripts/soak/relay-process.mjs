// The relay under soak: node server/dist/main.js on Redis, on a port chosen once so that after it is
// killed it comes back where its clients (senders, live subscribers) reconnect to.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { getJson } from '../bench-live-clients.mjs';
import {
  BENCH_RATE_LIMITS,
  HOST,
  ROOT,
  cleanEnv,
  onTeardown,
  sleep,
} from '../bench-live-processes.mjs';
import {
  captureOutput,
  freePort,
  hasExited,
  stopChild,
  trackChild,
  waitForExit,
} from './child-processes.mjs';

const READY_TIMEOUT_MS = 20_000;

export async function startRelayProcess({ redisUrl, keyPrefix, dataDir }) {
  const port = await freePort();
  const env = {
    ...cleanEnv(),
    ...BENCH_RATE_LIMITS,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    DEADDROP_DATA_DIR: dataDir,
    STREAM_MAX_LEN: '100000',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST,
  };
  /** Warning and error log lines of every relay process of the run, by message. */
  const logCounts = {};
  const unexpectedExits = [];
  let child;
  let expectedExit = true;

  const launch = async () => {
    child = trackChild(
      spawn(process.execPath, [join(ROOT, 'server', 'dist', 'main.js')], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expectedExit = false;
    const launched = child;
    const output = captureOutput(launched, logCounts);
    launched.once('exit', (code, signal) => {
      if (!expectedExit)
        unexpectedExits.push(`relay exited (${signal ?? code}):\n${output.tail()}`);
    });
    const started = performance.now();
    while (performance.now() - started < READY_TIMEOUT_MS) {
      if (hasExited(launched)) throw new Error(`relay exited at startup:\n${output.tail()}`);
      if ((await getJson({ host: HOST, port, path: '/trpc/info' })) !== null) {
        return performance.now() - started;
      }
      await sleep(50);
    }
    throw new Error(`relay not ready in ${READY_TIMEOUT_MS / 1000} s:\n${output.tail()}`);
  };

  await launch();
  onTeardown(async () => {
    expectedExit = true;
    await stopChild(child);
  });
  const info = await getJson({ host: HOST, port, path: '/trpc/info' });

  return {
    host: HOST,
    port,
    url: `http://${HOST}:${port}`,
    relayId: info.result.data.json.relayId,
    logCounts,
    unexpectedExits,
    pid: () => child.pid,
    /** SIGKILL (no shutdown at all), `downMs` after the exit, then the same command again. */
    async killAndRestart(downMs) {
      expectedExit = true;
      const killed = performance.now();
      child.kill('SIGKILL');
      await waitForExit(child, 10_000);
      await sleep(downMs);
      const readyMs = await launch();
      return { readyMs, outageMs: performance.now() - killed };
    },
  };
}
