// Bounds ioredis's offline queue. Commands issued while the connection is not ready wait there for
// it, and ioredis puts no limit on how many (its only bounds are per command: `commandTimeout`
// rejects the caller's promise but leaves the command queued, and `maxRetriesPerRequest` flushes the
// queue every few reconnection attempts). Under load an outage would pile up every request's command.
import type { Cluster, Redis } from 'ioredis';

/**
 * How long after the connection was lost commands still wait for it: a blip or a failover is ridden
 * out; past it, a command is refused at once (→ 503) instead of joining the queue.
 */
export const OFFLINE_QUEUE_GRACE_MS = 1_000;

/**
 * Turns `client`'s offline queue off once its connection has not been ready for `graceMs`, and on
 * again as soon as it is (ioredis reads `options.enableOfflineQueue` at every command). Commands
 * then queue only for requests made during the grace, all of them still in flight: the queue holds
 * at most what the relay's in-flight requests already hold, and refused commands were never sent,
 * so they cannot be run later either. Returns the function that stops it.
 */
export function boundOfflineQueue(
  client: Redis | Cluster,
  graceMs = OFFLINE_QUEUE_GRACE_MS,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const ready = (): void => {
    clearTimeout(timer);
    timer = undefined;
    client.options.enableOfflineQueue = true;
  };
  const lost = (): void => {
    // 'close' comes again after every failed reconnection attempt: the grace runs from the first.
    if (timer !== undefined || client.options.enableOfflineQueue === false) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (client.status !== 'ready') client.options.enableOfflineQueue = false;
    }, graceMs);
    timer.unref();
  };
  client.on('ready', ready);
  client.on('close', lost);
  // Not connected yet (a client just made): the grace covers the first connection too.
  if (client.status !== 'ready') lost();
  return () => {
    clearTimeout(timer);
    client.off('ready', ready);
    client.off('close', lost);
  };
}
