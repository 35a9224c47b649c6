// Mailbox names for tests on a Redis Cluster that land on every master: a mailbox's keys share the
// hash tag `{agentId}` (PROTOCOL §4), and the cluster itself says where that slot is served.
import type { RedisClusterHandle } from '@deaddrop/test-support/redis-cluster';
import { withNode } from '@deaddrop/test-support/redis-cluster-node';

const CANDIDATES = 200;

interface SlotRange {
  readonly start: number;
  readonly end: number;
  readonly port: number;
}

/** CLUSTER SLOTS: `[[start, end, [host, port, id, …], …replicas], …]`. */
function parseSlots(reply: unknown): SlotRange[] {
  if (!Array.isArray(reply)) throw new Error('unexpected CLUSTER SLOTS reply');
  return reply.map((entry: unknown) => {
    if (!Array.isArray(entry)) throw new Error('unexpected CLUSTER SLOTS entry');
    const [start, end, master] = entry as unknown[];
    const port: unknown = Array.isArray(master) ? (master as unknown[])[1] : undefined;
    if (typeof start !== 'number' || typeof end !== 'number' || typeof port !== 'number') {
      throw new Error('unexpected CLUSTER SLOTS entry');
    }
    return { start, end, port };
  });
}

/**
 * `perMaster` agent ids (`name(k)` for k = 0, 1, …) on each master serving slots now, taken in
 * turn from each master: index i and i + masters are on the same master. Returns the ids with
 * the port of the master serving each.
 */
export async function agentsOnEveryMaster(
  cluster: RedisClusterHandle,
  perMaster: number,
  name: (k: number) => string,
): Promise<{ readonly agentId: string; readonly port: number }[]> {
  const [asked] = await cluster.masters();
  if (asked === undefined) throw new Error('the cluster has no master');
  return withNode(asked.port, async (redis) => {
    const ranges = parseSlots(await redis.call('CLUSTER', 'SLOTS'));
    const ports = [...new Set(ranges.map((range) => range.port))].sort((a, b) => a - b);
    const chosen = new Map<number, string[]>(ports.map((port) => [port, []]));
    for (let k = 0; k < CANDIDATES; k++) {
      const agentId = name(k);
      const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', `{${agentId}}`));
      const port = ranges.find((range) => slot >= range.start && slot <= range.end)?.port;
      const ids = port === undefined ? undefined : chosen.get(port);
      if (ids !== undefined && ids.length < perMaster) ids.push(agentId);
      if ([...chosen.values()].every((list) => list.length === perMaster)) {
        return Array.from({ length: perMaster * ports.length }, (_, i) => {
          const port = ports[i % ports.length] ?? 0;
          return { agentId: chosen.get(port)?.[Math.floor(i / ports.length)] ?? '', port };
        });
      }
    }
    // Says what the cluster answered, to tell a cluster still settling from a bad choice of names.
    const found = [...chosen].map(([port, ids]) => `${String(port)}: ${String(ids.length)}`);
    throw new Error(
      `${String(CANDIDATES)} names did not give ${String(perMaster)} per master ` +
        `(found ${found.join(', ')}; CLUSTER SLOTS ${JSON.stringify(ranges)})`,
    );
  });
}
