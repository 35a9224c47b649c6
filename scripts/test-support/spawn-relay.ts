// Starts a real relay (`server/src/main.ts` under tsx) on a free loopback port with its own temporary
// data folder, for end-to-end tests; `stop()` ends it and removes the folder.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startSourceProcess } from './source-process.js';

export { repoRoot };

export interface SpawnedRelay {
  /** Base URL, e.g. http://127.0.0.1:43121 (the tRPC endpoint is `${url}/trpc`). */
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the relay wrote so far (stdout and stderr), for failure messages. */
  readonly output: () => string;
  /** SIGTERM, wait for exit (SIGKILL after a grace period), remove a data folder we created. */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

const STARTUP_TIMEOUT_MS = 20_000;

/** Variables a developer's shell may set that would change which relay the test gets. */
const INHERITED_RELAY_VARIABLES = [
  'PORT',
  'HOST',
  'REDIS_URL',
  'MAX_MESSAGE_SIZE',
  'MESSAGE_TTL_SECONDS',
  'STREAM_MAX_LEN',
  'AUTH_WINDOW_SECONDS',
  'MAX_WAIT_MS',
  'WS_MAX_AGE_SECONDS',
  'WS_AUTH_TIMEOUT_MS',
  'DEADDROP_RELAY_ID',
  'DEADDROP_API_KEYS',
  'DEADDROP_DATA_DIR',
  'TRUST_PROXY_HOPS',
  'DEADDROP_WEBHOOKS',
  'DEADDROP_WEBHOOK_ALLOWED_HOSTS',
];

/**
 * Rate limits off: tests make bursts of calls from one address that the defaults would refuse.
 * Tests of the limits themselves set the ones they test.
 */
export const RATE_LIMITS_OFF: Readonly<Record<string, string>> = {
  RATE_REQUESTS_PER_SECOND: '0',
  RATE_REQUEST_BURST: '0',
  RATE_SUBSCRIPTIONS_PER_MINUTE: '0',
  RATE_MAILBOX_MESSAGES_PER_MINUTE: '0',
  RATE_SENDER_MESSAGES_PER_MINUTE: '0',
  RATE_REGISTRATIONS_PER_MINUTE: '0',
  RATE_LIVE_CONNECTIONS_PER_ADDRESS: '0',
  RATE_PREKEY_CLAIMS_PER_MINUTE: '0',
};

/**
 * `env.PORT` pins the port (to restart a relay where its clients expect it); else a free one —
 * freed before the relay binds it, so another process may take it first: then the relay exits
 * with EADDRINUSE and is started again on another port.
 */
export async function spawnRelay(env: Record<string, string> = {}): Promise<SpawnedRelay> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnRelayOnce(env);
    } catch (error) {
      const taken = error instanceof Error && error.message.includes('EADDRINUSE');
      if (!taken || env.PORT !== undefined || attempt >= 3) throw error;
    }
  }
}

async function spawnRelayOnce(env: Record<string, string>): Promise<SpawnedRelay> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  const ownDataDir = env.DEADDROP_DATA_DIR === undefined;
  const dataDir = env.DEADDROP_DATA_DIR ?? (await mkdtemp(join(tmpdir(), 'deaddrop-relay-')));
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !INHERITED_RELAY_VARIABLES.includes(name) && !/^(RATE_|REDIS_|LOG_LEVEL$)/.test(name),
    ),
  );
  const relay = startSourceProcess('server/src/main.ts', [], {
    ...baseEnv,
    HOST: '127.0.0.1',
    PORT: String(port),
    DEADDROP_DATA_DIR: dataDir,
    ...RATE_LIMITS_OFF,
    ...env,
  });
  const { child, output } = relay;

  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await relay.stop();
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitUntilAnswering(url, child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    dataDir,
    child,
    output,
    stop,
    kill: (signal = 'SIGKILL') => child.kill(signal),
  };
}

async function waitUntilAnswering(
  url: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `relay exited during startup (${child.exitCode ?? child.signalCode}):\n${output()}`,
      );
    }
    try {
      const response = await fetch(`${url}/trpc/info`, { signal: AbortSignal.timeout(1_000) });
      // Answered by this relay, not by another process that took the port first.
      if (response.ok && output().includes('relay listening')) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `relay did not answer ${url}/trpc/info within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`,
  );
}

/** A port the OS just handed out on loopback; released before the relay binds it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}
