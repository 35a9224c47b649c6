// What the nodes of a test cluster say about it (CLUSTER INFO, CLUSTER NODES, ROLE), and the one
// question the cluster helper keeps asking: do all running nodes agree on a healthy cluster?
import { LOOPBACK, withNode } from './redis-cluster-node.js';

const SLOT_COUNT = 16_384;

export type ClusterRole = 'master' | 'replica';

export interface ClusterNodeInfo {
  readonly host: string;
  readonly port: number;
  readonly role: ClusterRole;
  /** For a replica, the port of its master. */
  readonly masterPort?: number;
}

/** One line of `CLUSTER NODES`. */
interface NodesEntry {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The id of its master, for a replica. */
  readonly masterId: string | undefined;
  readonly slotRanges: readonly (readonly [number, number])[];
}

/** One running node's own view. */
export interface NodeView {
  readonly port: number;
  readonly clusterState: string;
  readonly entries: readonly NodesEntry[];
  readonly self: ClusterNodeInfo;
  /** For a replica: ROLE's link state to its master (`connected` once in sync). */
  readonly replicationState: string | undefined;
}

/** Who serves each slot: `start-end@port` ranges, sorted; the same text on nodes that agree. */
export interface Topology {
  readonly nodes: readonly ClusterNodeInfo[];
  readonly slotOwners: readonly string[];
  /** Port of the master serving each slot (index = slot). */
  readonly ownerBySlot: readonly number[];
}

export async function readNodeView(port: number): Promise<NodeView> {
  return withNode(port, async (redis) => {
    const info = String(await redis.call('CLUSTER', 'INFO'));
    const nodes = String(await redis.call('CLUSTER', 'NODES'));
    const role = await redis.call('ROLE');
    const entries = parseClusterNodes(nodes);
    const replication = parseRole(role);
    return {
      port,
      clusterState: /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown',
      entries,
      self:
        replication.role === 'master'
          ? { host: LOOPBACK, port, role: 'master' }
          : { host: LOOPBACK, port, role: 'replica', masterPort: replication.masterPort },
      replicationState: replication.role === 'replica' ? replication.state : undefined,
    };
  });
}

/**
 * The topology every running node agrees on, or the first reason it is not settled yet: a node
 * not `cluster_state:ok`, a slot unserved or served by a node that is down, views that differ,
 * a node some view lacks, or a replica not yet in sync with a running master.
 */
export function settledTopology(
  views: readonly NodeView[],
  runningPorts: ReadonlySet<number>,
): Topology | string {
  const first = views[0];
  if (first === undefined) return 'no node is running';
  for (const view of views) {
    if (view.clusterState !== 'ok') {
      return `node ${view.port} says cluster_state:${view.clusterState}`;
    }
  }
  const ownerBySlot: number[] = [];
  for (const [slot, owner] of slotOwners(first).entries()) {
    if (owner === undefined) return `node ${first.port} sees slot ${slot} unassigned`;
    if (!runningPorts.has(owner)) return `node ${first.port} sees slot ${slot} on ${owner}, down`;
    ownerBySlot.push(owner);
  }
  const summary = rangesOf(ownerBySlot);
  for (const view of views) {
    const known = new Set(view.entries.map((entry) => entry.port));
    const missing = [...runningPorts].find((port) => !known.has(port));
    if (missing !== undefined) return `node ${view.port} does not know node ${missing} yet`;
    const pending = view.entries.find(
      (entry) =>
        runningPorts.has(entry.port) && entry.flags.some((flag) => !STABLE_FLAGS.has(flag)),
    );
    if (pending !== undefined) {
      return `node ${view.port} sees ${pending.port} as ${pending.flags.join(',')}`;
    }
    const theirs = rangesOf(slotOwners(view));
    if (theirs.join(' ') !== summary.join(' ')) {
      return `nodes ${first.port} and ${view.port} disagree on the slots: ${summary.join(' ')} vs ${theirs.join(' ')}`;
    }
  }
  const nodes = views.map((view) => view.self);
  for (const view of views) {
    const { self } = view;
    if (self.role !== 'replica') continue;
    if (self.masterPort === undefined || !runningPorts.has(self.masterPort)) {
      return `replica ${self.port} follows ${self.masterPort ?? '?'}, down`;
    }
    if (view.replicationState !== 'connected') {
      return `replica ${self.port} is ${view.replicationState ?? '?'} to ${self.masterPort}`;
    }
    const disagreeing = views.find((other) => roleSeenBy(other, self.port) !== self.masterPort);
    if (disagreeing !== undefined) {
      return `node ${disagreeing.port} does not see ${self.port} as a replica of ${self.masterPort}`;
    }
  }
  return { nodes, slotOwners: summary, ownerBySlot };
}

/** Flags of a node in a steady cluster; anything else (fail?, handshake, noaddr…) means "not yet". */
const STABLE_FLAGS = new Set(['myself', 'master', 'slave']);

/** The master port `view` records for the node on `port`, if it sees it as a replica. */
function roleSeenBy(view: NodeView, port: number): number | undefined {
  const entry = view.entries.find((candidate) => candidate.port === port);
  if (entry?.masterId === undefined) return undefined;
  return view.entries.find((candidate) => candidate.id === entry.masterId)?.port;
}

function slotOwners(view: NodeView): (number | undefined)[] {
  const owners = new Array<number | undefined>(SLOT_COUNT).fill(undefined);
  for (const entry of view.entries) {
    if (!entry.flags.includes('master')) continue;
    for (const [start, end] of entry.slotRanges) {
      for (let slot = start; slot <= end; slot++) owners[slot] = entry.port;
    }
  }
  return owners;
}

function rangesOf(owners: readonly (number | undefined)[]): string[] {
  const ranges: string[] = [];
  let start = 0;
  for (let slot = 1; slot <= owners.length; slot++) {
    if (slot === owners.length || owners[slot] !== owners[start]) {
      ranges.push(`${start}-${slot - 1}@${owners[start] ?? 'none'}`);
      start = slot;
    }
  }
  return ranges;
}

/** `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...` */
function parseClusterNodes(text: string): NodesEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
      const hostPort = address.split('@')[0] ?? '';
      return {
        id,
        port: Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
        flags: flags.split(',').filter((flag) => flag !== 'noflags'),
        masterId: master === '-' ? undefined : master,
        // Migrating/importing markers (`[slot->-id]`) are not ownership.
        slotRanges: slots
          .filter((slot) => !slot.startsWith('['))
          .map((slot): readonly [number, number] => {
            const [start = '', end = start] = slot.split('-');
            return [Number(start), Number(end)];
          }),
      };
    });
}

type Replication =
  | { readonly role: 'master' }
  | { readonly role: 'replica'; readonly masterPort: number; readonly state: string };

/** `ROLE`: `[master, offset, replicas]` or `[slave, host, port, state, offset]`. */
function parseRole(reply: unknown): Replication {
  if (!Array.isArray(reply)) throw new Error(`unexpected ROLE reply: ${String(reply)}`);
  const items: unknown[] = reply;
  if (items[0] === 'master') return { role: 'master' };
  if (items[0] === 'slave') {
    return { role: 'replica', masterPort: Number(items[2]), state: String(items[3]) };
  }
  throw new Error(`unexpected ROLE reply: ${JSON.stringify(items)}`);
}
