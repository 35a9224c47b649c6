// One cluster-enabled `redis-server` process of a test cluster: a loopback port whose cluster bus
// port (port + 10000) is free too, its own folder, and the tail of its log for failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const LOOPBACK = '127.0.0.1';

/** Redis Cluster's bus listens on the client port + 10000 (the default `cluster-port`). */
const BUS_PORT_OFFSET = 10_000;
/**
 * Client ports are drawn from 10000–22767, so that with their bus ports (20000–32767) they stay
 * below Linux's ephemeral range (32768+): an outgoing connection cannot take one meanwhile.
 */
const PORT_MIN = 10_000;
const PORT_MAX = 22_767;
const PORT_ATTEMPTS = 50;
/** Another test process may take a port between our probe and redis-server's bind: retry then. */
const BIND_ATTEMPTS = 5;
const STARTUP_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_LIMIT = 64 * 1024;

export interface ClusterNodeSettings {
  readonly appendonly: boolean;
  readonly nodeTimeoutMs: number;
}

export interface ClusterNodeProcess {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  /** Whether the redis-server process is running now. */
  running(): boolean;
  /** The last 64 KiB of what it wrote (its log goes to stdout). */
  output(): string;
  /** Sends `signal` and waits until the process is gone (SIGKILL after a grace period). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts one node in `<rootDir>/<port>` and resolves once it answers PING. `taken` holds ports
 * already given to this cluster's nodes; the chosen one is added to it.
 */
export async function startClusterNode(
  rootDir: string,
  settings: ClusterNodeSettings,
  taken: Set<number>,
): Promise<ClusterNodeProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = await freeClusterPort(taken);
    taken.add(port);
    const dir = join(rootDir, String(port));
    await mkdir(dir);
    const node = spawnNode(port, dir, settings);
    try {
      await waitForPong(node);
      return node;
    } catch (error) {
      await node.kill('SIGKILL');
      if (!node.output().includes('Address already in use')) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

function spawnNode(port: number, dir: string, settings: ClusterNodeSettings): ClusterNodeProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      LOOPBACK,
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(settings.nodeTimeoutMs),
      // A replica may always stand for election however long it was cut off, and none moves
      // to another master: failovers are then quick and land where a test expects them.
      '--cluster-replica-validity-factor',
      '0',
      '--cluster-allow-replica-migration',
      'no',
      // A master otherwise waits 5 s for more replicas before a (diskless) full sync.
      '--repl-diskless-sync-delay',
      '0',
      '--save',
      '',
      '--appendonly',
      settings.appendonly ? 'yes' : 'no',
      '--appendfsync',
      'everysec',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.on('error', (error) => {
    output += `\n(spawn failed: ${error.message})`;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      resolve();
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    port,
    dir,
    child,
    running,
    output: () => output,
    kill: async (signal = 'SIGKILL') => {
      if (child.pid === undefined || !running()) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPong(node: ClusterNodeProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!node.running() || node.child.pid === undefined) {
      throw new Error(`redis-server on port ${node.port} exited during startup:\n${node.output()}`);
    }
    try {
      await withNode(node.port, (redis) => redis.ping());
      return;
    } catch {
      // Not listening yet, or still loading (-LOADING).
    }
    await sleep(50);
  }
  throw new Error(
    `redis-server on port ${node.port} did not answer PING within ${STARTUP_TIMEOUT_MS} ms:\n${node.output()}`,
  );
}

/**
 * Runs `use` on a fresh connection to one node, then closes it. No retries and short timeouts: a
 * node that is down fails the call at once, which is what the cluster's polling loops want.
 */
export async function withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: LOOPBACK,
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    retryStrategy: () => null,
  });
  // A failure reaches the caller through the rejected command; the event would be unhandled.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** A port P such that P and P + 10000 are both free on loopback now and P is not in `taken`. */
async function freeClusterPort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
    if (taken.has(port) || taken.has(port + BUS_PORT_OFFSET) || taken.has(port - BUS_PORT_OFFSET)) {
      continue;
    }
    if ((await portIsFree(port)) && (await portIsFree(port + BUS_PORT_OFFSET))) return port;
  }
  throw new Error(
    `no free port pair (P, P + ${BUS_PORT_OFFSET}) found in ${PORT_MIN}–${PORT_MAX} after ${PORT_ATTEMPTS} tries`,
  );
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, LOOPBACK, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
