// Long-poll and live delivery wake-ups. The store's notification only says "look again"; the
// stream stays the source of truth, and a periodic re-read covers a lost notification.
import type { MailboxStore } from './store/mailbox-store.js';

/** A missed notification delays a message by at most this long, never loses it. */
export const CATCH_UP_INTERVAL_MS = 2_000;

export interface MailWaiter {
  /** Resolves after a wake-up (or one that came since the last wait), the timeout, or an abort. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  stop(): void;
}

/** Starts listening before the caller's first read, so a message stored in between still wakes it. */
export function watchMailbox(store: MailboxStore, agentId: string): MailWaiter {
  let pending = false;
  let wake: (() => void) | undefined;
  const unwatch = store.watch(agentId, () => {
    pending = true;
    wake?.();
  });
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
    stop: unwatch,
  };
}
