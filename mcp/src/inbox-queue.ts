// Messages fetched from the relay but not yet handed to the model: what `wait_for_message` passed
// over (another sender) and what the live feed brought in for a subscribed client. Tools take from
// here before asking the relay again, so nothing fetched is skipped. Bounded: when it is full the
// live feed pauses and waits for room, and filtered waits stop fetching.
import type { DeadDropClient, InboxEntry } from '@deaddrop/client';
import { isReplay } from './received.js';

export const INBOX_QUEUE_LIMIT = 1_000;
/** Ids remembered after hand-over, to drop a copy a concurrent fetch and the live feed both got. */
const KNOWN_IDS_LIMIT = 10_000;

export class InboxQueue {
  readonly #entries: InboxEntry[] = [];
  readonly #roomWaiters = new Set<() => void>();
  /** Insertion-ordered, so the oldest ids are forgotten first. */
  readonly #known = new Set<string>();

  constructor(private readonly client: Pick<DeadDropClient, 'pollAndDecrypt'>) {}

  get size(): number {
    return this.#entries.length;
  }

  get full(): boolean {
    return this.#entries.length >= INBOX_QUEUE_LIMIT;
  }

  /** A snapshot, oldest first. */
  peek(): readonly InboxEntry[] {
    return [...this.#entries];
  }

  add(entries: readonly InboxEntry[]): void {
    for (const entry of entries) {
      if (isReplay(entry) || this.#known.has(entry.id)) continue;
      this.#known.add(entry.id);
      if (this.#known.size > KNOWN_IDS_LIMIT) {
        const oldest = this.#known.values().next();
        if (oldest.done !== true) this.#known.delete(oldest.value);
      }
      this.#entries.push(entry);
    }
  }

  /** Removes and returns up to `limit` entries, oldest first. */
  take(limit: number): InboxEntry[] {
    const taken = this.#entries.splice(0, limit);
    if (taken.length > 0) this.#notifyRoom();
    return taken;
  }

  /** Removes and returns the first entry `match` accepts, if any. */
  takeFirst(match: (entry: InboxEntry) => boolean): InboxEntry | undefined {
    const index = this.#entries.findIndex(match);
    if (index < 0) return undefined;
    const [entry] = this.#entries.splice(index, 1);
    this.#notifyRoom();
    return entry;
  }

  /** Fetches what has arrived since the saved cursor, waiting up to `timeoutMs` for a first one. */
  async fetch(limit: number, timeoutMs: number): Promise<number> {
    const room = Math.min(limit, INBOX_QUEUE_LIMIT - this.#entries.length);
    if (room <= 0) return 0;
    const entries = await this.client.pollAndDecrypt({ limit: room, timeoutMs });
    const before = this.#entries.length;
    this.add(entries);
    return this.#entries.length - before;
  }

  /** Resolves once the queue has room (or `signal` aborts). */
  async room(signal?: AbortSignal): Promise<void> {
    while (this.full && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#roomWaiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.#roomWaiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  #notifyRoom(): void {
    for (const wake of [...this.#roomWaiters]) wake();
  }
}
