// The periodic TTL sweep on Redis: every mailbox stream on every master, trimmed a few at a time.
import { Cluster, type Redis } from 'ioredis';
import { INBOX_KEY_PATTERN } from './keys.js';
import type { RedisConnection } from './redis-connection.js';
import { redisCall } from './unavailable.js';

const SCAN_BATCH = 500;
/** Trim scripts the sweep keeps in flight at once. */
const SWEEP_CONCURRENCY = 8;

/**
 * Calls `trim` with each mailbox stream's key (without the prefix) and returns the sum of what
 * it removed. SCAN walks one node's keyspace: on a cluster each master is walked in turn.
 */
export async function sweepInboxes(
  client: RedisConnection,
  keyPrefix: string,
  trim: (inboxKey: string) => Promise<number>,
): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  let removed = 0;
  for (const node of nodes) removed += await sweepNode(node, keyPrefix, trim);
  return removed;
}

async function sweepNode(
  node: Redis,
  keyPrefix: string,
  trim: (inboxKey: string) => Promise<number>,
): Promise<number> {
  let removed = 0;
  let cursor = '0';
  // SCAN ends when the cursor comes back to 0; keys come back with the prefix, which the scripts'
  // KEYS add again, so it is stripped first.
  do {
    const [next, found] = await redisCall(
      node.scan(
        cursor,
        'MATCH',
        keyPrefix + INBOX_KEY_PATTERN,
        'COUNT',
        SCAN_BATCH,
        'TYPE',
        'stream',
      ),
    );
    cursor = next;
    // A few at a time, never a burst: the sweep shares the connection with live sends, and
    // thousands of queued trims would delay every one of them.
    for (let start = 0; start < found.length; start += SWEEP_CONCURRENCY) {
      const trimmed = await Promise.all(
        found
          .slice(start, start + SWEEP_CONCURRENCY)
          .map((key) => trim(key.slice(keyPrefix.length))),
      );
      removed += trimmed.reduce((sum, count) => sum + count, 0);
    }
  } while (cursor !== '0');
  return removed;
}
