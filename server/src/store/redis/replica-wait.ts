// Acknowledging a send only once replicas have it (REDIS_WAIT_REPLICAS): WAIT after the append
// script, on the connection to the master that took the write.
import { StoreUnavailableError } from '../mailbox-store.js';
import type { RedisConnection } from './redis-connection.js';
import { redisCall, toStoreError } from './unavailable.js';

export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * Resolves once `wait.replicas` replicas of the master holding `inboxKey` have every write this
 * connection made to it, else throws StoreUnavailableError (→ 503: the client retries with its
 * idempotency key). Redis refuses WAIT inside a script, and WAIT counts the writes of the
 * connection it is sent on, so it goes after the script: on a cluster in a pipeline led by a
 * command on the mailbox's key, which routes it to that master. Replication stays asynchronous:
 * this narrows what a failover can lose to messages not yet acknowledged, it does not make a
 * master's crash lossless.
 */
export async function confirmReplicas(
  client: RedisConnection,
  inboxKey: string,
  wait: ReplicaWait,
): Promise<void> {
  const replies = await redisCall(
    client.pipeline().exists(inboxKey).call('WAIT', wait.replicas, wait.timeoutMs).exec(),
  );
  const [keyReply, waitReply] = replies ?? [];
  // exec() resolves with each command's own failure (a command timeout while a master is down,
  // say): map it as redisCall would. A failed lead command means WAIT may have run on another node
  // (a slot map gone stale in a failover: MOVED), where it says nothing of this write.
  const [keyError] = keyReply ?? [new Error('no reply to EXISTS')];
  if (keyError)
    throw new StoreUnavailableError('Redis could not confirm the write', { cause: keyError });
  const [waitError, acknowledged] = waitReply ?? [new Error('no reply to WAIT'), 0];
  if (waitError) throw toStoreError(waitError);
  if (typeof acknowledged !== 'number' || acknowledged < wait.replicas) {
    throw new StoreUnavailableError(
      `stored, but ${String(acknowledged)} of ${String(wait.replicas)} replicas confirmed it within ${String(wait.timeoutMs)} ms`,
    );
  }
}
