// The live dispatcher of one relay process: every long-poll and inbox subscriber registers here,
// and the store's single notification path (Redis pub/sub on one shared connection, or an
// in-process emitter) wakes the subscribers of a mailbox, which then read from their own cursor.
// The stream stays the source of truth; a notification only says "look again".
import type { MailboxStore } from '../store/mailbox-store.js';

export interface MailWaiter {
  /** Resolves after a wake-up (or one that came since the last wait), the timeout, or an abort. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  stop(): void;
}

export interface MailboxDispatcher {
  /** Starts listening before the caller's first read, so a message stored in between still wakes it. */
  watch(agentId: string): MailWaiter;
  /** Registered waiters (long-polls and live subscribers) in this process. */
  size(): number;
}

export function createDispatcher(store: MailboxStore): MailboxDispatcher {
  let active = 0;
  return {
    size: () => active,
    watch(agentId) {
      let pending = false;
      let wake: (() => void) | undefined;
      const unwatch = store.watch(agentId, () => {
        pending = true;
        wake?.();
      });
      active++;
      let stopped = false;
      return {
        wait(timeoutMs, signal) {
          if (pending || signal?.aborted === true || timeoutMs <= 0) {
            pending = false;
            return Promise.resolve();
          }
          return new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', done);
              wake = undefined;
              pending = false;
              resolve();
            };
            const timer = setTimeout(done, timeoutMs);
            signal?.addEventListener('abort', done, { once: true });
            wake = done;
          });
        },
        stop() {
          if (stopped) return;
          stopped = true;
          active--;
          wake?.();
          unwatch();
        },
      };
    },
  };
}

/** A lost notification delays a long-poll by at most this long. */
export const POLL_CATCH_UP_MS = 2_000;

/**
 * A live subscriber re-reads at least this often even without a notification. Notifications are
 * only lost when the store's subscriber connection drops, and the drivers wake everyone after a
 * reconnect, so this is a backstop; jitter spreads tens of thousands of idle subscribers' reads
 * (20,000 subscribers cost ≈ 220 empty reads a second).
 */
export function liveCatchUpMs(): number {
  return 60_000 + Math.floor(Math.random() * 60_000);
}
