// A private Redis Cluster for tests: cluster-enabled `redis-server` nodes on free loopback ports
// joined by `redis-cli --cluster create`; nodes can be killed and failovers awaited, and `stop()`
// (or the test process ending, however it ends) removes every process and folder.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LOOPBACK,
  sleep,
  startClusterNode,
  type ClusterNodeProcess,
  type ClusterNodeSettings,
} from './redis-cluster-node.js';
import { startClusterReaper, type ClusterReaper } from './redis-cluster-reaper.js';
import {
  readNodeView,
  settledTopology,
  type ClusterNodeInfo,
  type Topology,
} from './redis-cluster-topology.js';

export type { ClusterNodeInfo, ClusterRole } from './redis-cluster-topology.js';

const CREATE_TIMEOUT_MS = 30_000;
const SETTLE_TIMEOUT_MS = 30_000;
const FAILOVER_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 100;
const LOG_TAIL_LINES = 15;

export interface RedisClusterOptions {
  /** At least 3 (`redis-cli --cluster create` refuses fewer). Default 3. */
  readonly masters?: number;
  /** Default 0. */
  readonly replicasPerMaster?: number;
  /** AOF with `appendfsync everysec`. Default true. */
  readonly appendonly?: boolean;
  /** `cluster-node-timeout`: how long a node may be silent before a failover starts. Default 2000. */
  readonly nodeTimeoutMs?: number;
}

export interface RedisClusterHandle {
  /** Every node as the cluster formed: masters first, then replicas, each group by port. */
  readonly nodes: readonly ClusterNodeInfo[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`: every node, as REDIS_CLUSTER_NODES would list them. */
  readonly seeds: string;
  /** The running nodes that are masters now (ROLE, read again on each call). */
  masters(): Promise<ClusterNodeInfo[]>;
  /** The running nodes that replicate `masterPort` now. */
  replicasOf(masterPort: number): Promise<ClusterNodeInfo[]>;
  /** Whether the node's process is running. */
  running(port: number): boolean;
  /** Sends `signal` (default SIGKILL) to one node and waits until its process is gone. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Resolves with the new master once a replica of `oldMasterPort` serves all its slots and
   * every running node says `cluster_state:ok` and agrees on the slot map.
   */
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<ClusterNodeInfo>;
  /** Resolves once every running node is `cluster_state:ok` and all agree on who serves what. */
  waitUntilSettled(timeoutMs?: number): Promise<void>;
  /** The last lines each node logged, for failure messages. */
  logTails(): string;
  /** Kills every node and removes the folders; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts and joins `masters × (1 + replicasPerMaster)` nodes; resolves once the cluster is settled. */
export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const { masters = 3, replicasPerMaster = 0, appendonly = true, nodeTimeoutMs = 2_000 } = options;
  if (!Number.isInteger(masters) || masters < 3) throw new Error('a cluster needs 3+ masters');
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new Error('replicasPerMaster must be a whole number');
  }
  const rootDir = await mkdtemp(join(tmpdir(), 'deaddrop-redis-cluster-'));
  const cluster = new LiveCluster(rootDir);
  try {
    const settings: ClusterNodeSettings = { appendonly, nodeTimeoutMs };
    const taken = new Set<number>();
    // One at a time: port probing in parallel could hand the same free pair to two nodes.
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      cluster.add(await startClusterNode(rootDir, settings, taken));
    }
    await createCluster(cluster.nodes, replicasPerMaster);
    const formed = await cluster.settle(SETTLE_TIMEOUT_MS, 'the cluster did not form');
    const byRoleThenPort = [...formed.nodes].sort(
      (a, b) => Number(a.role === 'replica') - Number(b.role === 'replica') || a.port - b.port,
    );
    return handleFor(cluster, byRoleThenPort);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

function handleFor(cluster: LiveCluster, nodes: readonly ClusterNodeInfo[]): RedisClusterHandle {
  const currentRoles = async (): Promise<ClusterNodeInfo[]> => {
    const running = cluster.nodes.filter((node) => node.running());
    const views = await Promise.all(running.map((node) => readNodeView(node.port)));
    return views.map((view) => view.self);
  };
  return {
    nodes,
    seeds: cluster.nodes.map((node) => `${LOOPBACK}:${node.port}`).join(','),
    masters: async () => (await currentRoles()).filter((node) => node.role === 'master'),
    replicasOf: async (masterPort) =>
      (await currentRoles()).filter((node) => node.masterPort === masterPort),
    running: (port) => cluster.node(port).running(),
    kill: async (port, signal = 'SIGKILL') => {
      await cluster.node(port).kill(signal);
      cluster.recordPids();
    },
    waitForFailover: (oldMasterPort, timeoutMs = FAILOVER_TIMEOUT_MS) =>
      cluster.waitForFailover(oldMasterPort, timeoutMs),
    waitUntilSettled: async (timeoutMs = SETTLE_TIMEOUT_MS) => {
      await cluster.settle(timeoutMs, 'the cluster did not settle');
    },
    logTails: () => cluster.logTails(),
    stop: () => cluster.stop(),
  };
}

/** The processes and folder of one cluster, and the last topology all its nodes agreed on. */
class LiveCluster {
  readonly nodes: ClusterNodeProcess[] = [];
  private settled: Topology | undefined;
  private readonly reaper: ClusterReaper;
  private stopped = false;

  constructor(private readonly rootDir: string) {
    this.reaper = startClusterReaper(rootDir);
  }

  add(node: ClusterNodeProcess): void {
    this.nodes.push(node);
    this.recordPids();
    node.child.once('exit', () => {
      if (!this.stopped) this.recordPids();
    });
  }

  node(port: number): ClusterNodeProcess {
    const found = this.nodes.find((node) => node.port === port);
    if (found === undefined) throw new Error(`no node of this cluster listens on ${port}`);
    return found;
  }

  /** Tells the reaper which processes are ours now. */
  recordPids(): void {
    this.reaper.record(
      this.nodes.flatMap((node) =>
        node.running() && node.child.pid !== undefined ? [node.child.pid] : [],
      ),
    );
  }

  async settle(
    timeoutMs: number,
    failure: string,
    accept: (topology: Topology) => string | undefined = () => undefined,
  ): Promise<Topology> {
    const deadline = Date.now() + timeoutMs;
    let reason = 'not checked yet';
    for (;;) {
      const running = this.nodes.filter((node) => node.running());
      try {
        const views = await Promise.all(running.map((node) => readNodeView(node.port)));
        const topology = settledTopology(views, new Set(running.map((node) => node.port)));
        const refusal = typeof topology === 'string' ? topology : accept(topology);
        if (refusal === undefined && typeof topology !== 'string') {
          this.settled = topology;
          return topology;
        }
        reason = refusal ?? reason;
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() >= deadline) {
        throw new Error(`${failure} within ${timeoutMs} ms (${reason}):\n${this.logTails()}`);
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  async waitForFailover(oldMasterPort: number, timeoutMs: number): Promise<ClusterNodeInfo> {
    const before = this.settled;
    const slots = (before?.ownerBySlot ?? []).flatMap((owner, slot) =>
      owner === oldMasterPort ? [slot] : [],
    );
    const [firstSlot] = slots;
    if (before === undefined || firstSlot === undefined) {
      throw new Error(`node ${oldMasterPort} served no slots when the cluster last settled`);
    }
    const candidates = new Set(
      before.nodes.filter((node) => node.masterPort === oldMasterPort).map((node) => node.port),
    );
    if (candidates.size === 0) throw new Error(`master ${oldMasterPort} has no replica`);
    const after = await this.settle(
      timeoutMs,
      `no replica took over from ${oldMasterPort}`,
      (now) => {
        const owner = now.ownerBySlot[firstSlot] ?? -1;
        if (!candidates.has(owner)) return `slot ${firstSlot} is still served by ${owner}`;
        const stray = slots.find((slot) => now.ownerBySlot[slot] !== owner);
        return stray === undefined ? undefined : `slot ${stray} is not on ${owner} too`;
      },
    );
    const newMaster = after.nodes.find((node) => node.port === after.ownerBySlot[firstSlot]);
    if (newMaster === undefined) throw new Error('the new master vanished from the topology');
    return newMaster;
  }

  logTails(): string {
    return this.nodes
      .map((node) => {
        const tail = node.output().trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
        const state = node.running() ? 'running' : 'exited';
        return `--- redis-server ${LOOPBACK}:${node.port} (${state}) ---\n${tail}`;
      })
      .join('\n');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Nothing is kept: SIGKILL spares the AOF rewrite and shutdown a SIGTERM would wait for.
    await Promise.all(this.nodes.map((node) => node.kill('SIGKILL')));
    this.reaper.dispose();
    await rm(this.rootDir, { recursive: true, force: true });
  }
}

/** `redis-cli --cluster create`, bounded in time; its output becomes the error if it fails. */
async function createCluster(
  nodes: readonly ClusterNodeProcess[],
  replicasPerMaster: number,
): Promise<void> {
  const child = spawn(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((node) => `${LOOPBACK}:${node.port}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const outcome = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`did not finish within ${CREATE_TIMEOUT_MS} ms`);
    }, CREATE_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `exited with ${code ?? signal ?? '?'}`);
    });
  });
  if (outcome !== undefined) {
    throw new Error(`redis-cli --cluster create ${outcome}:\n${output}`);
  }
}
