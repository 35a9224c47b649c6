// Outage and recovery lines for the store, throttled for stores that flap.
import type { Logger } from './log.js';

/**
 * Logs store outages and recoveries, at most one outage line per OUTAGE_LOG_MS: a store that flaps
 * (one shard of a cluster refusing while the others answer) would otherwise log every few hundred
 * ms. The next outage line says how many went unlogged.
 */
const OUTAGE_LOG_MS = 10_000;

export function logStoreAvailability(log: Logger, kind: string): (available: boolean) => void {
  let loggedAt = -Infinity;
  let unlogged = 0;
  let outageLogged = false;
  return (available) => {
    if (available) {
      if (outageLogged) log.info('store available again', { store: kind });
      outageLogged = false;
      return;
    }
    const now = Date.now();
    if (now - loggedAt < OUTAGE_LOG_MS) {
      unlogged++;
      return;
    }
    log.warn('store unavailable: calls fail with 503 until it answers', {
      store: kind,
      ...(unlogged > 0 ? { outagesSinceLastLine: unlogged } : {}),
    });
    loggedAt = now;
    unlogged = 0;
    outageLogged = true;
  };
}
