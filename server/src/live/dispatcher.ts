// The live dispatcher of one relay process: every long-poll and inbox subscriber registers here,
// and the store's single notification path (Redis pub/sub on one shared connection, or an
// in-process emitter) wakes the subscribers of a mailbox, which then read from their own cursor.
// The stream stays the source of truth; a notification only says "look again".
import type { StoredMessage } from '@deaddrop/contract';
import { compareMessageIds, type FreshMessage, type MailboxStore } from '../store/mailbox-store.js';
import { createPingRounds, type PingRounds } from './ping-rounds.js';

export interface MailWaiter {
  /** Resolves after a wake-up (or one that came since the last wait), the timeout, or an abort. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /**
   * The messages after `cursor` (at most `limit`, oldest first) when the wake-ups since the last
   * call tell them without a read of the store: `[]` when they only told of messages the caller has,
   * undefined when the caller must read the store (no wake-up at all — a timeout is a catch-up —, a
   * notification without a message, or a gap before the fresh messages).
   */
  take(cursor: string, limit: number): StoredMessage[] | undefined;
  /** The relay is shutting down: waits end at once; answer with what is at hand and stop. */
  readonly closed: boolean;
  stop(): void;
}

/**
 * A live subscriber's waiter: its waits have no timer of their own. A shared round makes every live
 * waiter catch up (read the store as after a timeout) once per LIVE_CATCH_UP_MS, and the stream's
 * signal ends a wait through one listener for the stream's life — where a timer and an abort
 * listener per wait, that is per message delivered, cost a few per cent of the relay's CPU at
 * 1,000 messages a second, and a timer per idle stream its memory.
 */
export interface LiveWaiter {
  /** Resolves after a wake-up (or one since the last wait), a catch-up turn, the abort, or close. */
  wait(): Promise<void>;
  take(cursor: string, limit: number): StoredMessage[] | undefined;
  readonly closed: boolean;
  stop(): void;
}

export interface MailboxDispatcher {
  /** Starts listening before the caller's first read, so a message stored in between still wakes it. */
  watch(agentId: string): MailWaiter;
  /** watch() for a live stream that lasts until `signal` aborts (see LiveWaiter). */
  watchLive(agentId: string, signal?: AbortSignal): LiveWaiter;
  /** Registered waiters (long-polls and live subscribers) in this process. */
  size(): number;
  /**
   * Shutdown: wakes every waiter for good (`closed`), so long-polls answer now with what they have
   * and live streams end; waiters made afterwards are closed from the start.
   */
  close(): void;
}

/**
 * Fresh messages a waiter keeps before it gives up on them and reads; past this, a reader is far
 * enough behind that one store read is the cheaper way.
 */
const FRESH_LIMIT = 64;

/**
 * A live subscriber re-reads this often even without a notification. Notifications are only lost
 * when the store's subscriber connection drops, and the drivers wake everyone after a reconnect,
 * so this is a backstop; the turns are spread over LIVE_CATCH_UP_SLICES ticks, so tens of
 * thousands of idle subscribers' reads come evenly (20,000 subscribers cost ≈ 220 empty reads a
 * second).
 */
const LIVE_CATCH_UP_MS = 90_000;
/** One tick every 100 ms. */
const LIVE_CATCH_UP_SLICES = 900;

/** Wake-ups a waiter has seen since its reader last read the store. */
class WakeLog {
  private woken = false;
  /** A notification that carried nothing, or too many fresh messages: only a read can tell. */
  private mustRead = false;
  private fresh: FreshMessage[] = [];

  add(fresh: FreshMessage | undefined): void {
    this.woken = true;
    if (this.mustRead) return;
    if (fresh === undefined || this.fresh.length >= FRESH_LIMIT) {
      this.mustRead = true;
      this.fresh = [];
    } else {
      this.fresh.push(fresh);
    }
  }

  take(cursor: string, limit: number): StoredMessage[] | undefined {
    const woken = this.woken;
    this.woken = false;
    if (!woken || this.mustRead) {
      this.mustRead = false;
      this.fresh = [];
      return undefined;
    }
    const taken: StoredMessage[] = [];
    let at = cursor;
    // Each fresh message follows its `after` directly, so a chain from the cursor is exactly what a
    // read would return; they arrive in id order, so one pass finds it.
    for (const { after, message } of this.fresh) {
      if (taken.length >= limit) break;
      if (compareMessageIds(message.id, at) <= 0) continue;
      if (compareMessageIds(after, at) > 0) break;
      taken.push(message);
      at = message.id;
    }
    const unread = this.fresh.filter(({ message }) => compareMessageIds(message.id, at) > 0);
    this.fresh = unread;
    if (taken.length > 0) return taken;
    // Something newer than the cursor whose predecessors were never handed over: read them.
    return unread.length === 0 ? [] : undefined;
  }
}

/** A waiter as both kinds of caller use it, plus a way to end its wait from outside. */
interface Waiter extends MailWaiter {
  /** Ends a wait under way as its timeout would (the caller reads); with none, the next one. */
  nudge(): void;
}

export function createDispatcher(store: MailboxStore): MailboxDispatcher {
  let active = 0;
  let closed = false;
  /** How to wake each waiter that has not stopped, for close(). */
  const wakers = new Set<() => void>();
  /** Live waiters' catch-up turns; made with the first live waiter. */
  let catchUps: PingRounds<Waiter> | undefined;

  const watch = (agentId: string): Waiter => {
    const log = new WakeLog();
    let pending = false;
    let wake: (() => void) | undefined;
    const unwatch = store.watch(agentId, (fresh) => {
      log.add(fresh);
      pending = true;
      wake?.();
    });
    active++;
    const wakeOnClose = (): void => {
      wake?.();
    };
    wakers.add(wakeOnClose);
    let stopped = false;
    return {
      get closed() {
        return closed;
      },
      wait(timeoutMs, signal) {
        if (pending || closed || signal?.aborted === true || timeoutMs <= 0) {
          pending = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const done = (): void => {
            if (timer !== undefined) clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = undefined;
            pending = false;
            resolve();
          };
          // Without a bound (a live waiter), only a wake-up, a nudge or close ends the wait.
          const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
          signal?.addEventListener('abort', done, { once: true });
          wake = done;
        });
      },
      take: (cursor, limit) => log.take(cursor, limit),
      nudge() {
        // Not waiting: the next wait returns at once, and take() (nothing logged) asks for a read.
        if (wake === undefined) pending = true;
        else wake();
      },
      stop() {
        if (stopped) return;
        stopped = true;
        active--;
        wakers.delete(wakeOnClose);
        wake?.();
        unwatch();
      },
    };
  };

  return {
    size: () => active,
    close() {
      closed = true;
      catchUps?.close();
      for (const wakeWaiter of [...wakers]) wakeWaiter();
    },
    watch,
    watchLive(agentId, signal) {
      const waiter = watch(agentId);
      catchUps ??= createPingRounds<Waiter>(LIVE_CATCH_UP_MS, LIVE_CATCH_UP_SLICES, (turn) => {
        turn.nudge();
      });
      const rounds = catchUps;
      rounds.add(waiter);
      const abort = (): void => {
        waiter.nudge();
      };
      signal?.addEventListener('abort', abort, { once: true });
      return {
        get closed() {
          return waiter.closed;
        },
        wait: () => waiter.wait(signal?.aborted === true ? 0 : Infinity),
        take: (cursor, limit) => waiter.take(cursor, limit),
        stop() {
          rounds.delete(waiter);
          signal?.removeEventListener('abort', abort);
          waiter.stop();
        },
      };
    },
  };
}

/** A lost notification delays a long-poll by at most this long. */
export const POLL_CATCH_UP_MS = 2_000;
