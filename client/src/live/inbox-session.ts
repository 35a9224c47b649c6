// One `inbox` subscription on one live connection: tRPC's push callbacks turned into batches that
// the follower pulls, with a bound on what is buffered while the caller is busy.
import type { Unsubscribable } from '@trpc/server/observable';
import { storedMessage, type StoredMessage } from '@deaddrop/contract';
import { DeadDropError } from '../errors.js';
import type { LiveConnection } from './live-connection.js';

/** How a session ended, once everything it received has been taken. */
export type SessionEnd =
  /** The caller's signal: nothing more is delivered, buffered messages included. */
  | { readonly kind: 'aborted' }
  /** Too much was buffered: the subscription was closed, to be resumed after the last message. */
  | { readonly kind: 'paused' }
  /** The relay ended the stream (a slow-consumer disconnect, a shutdown). */
  | { readonly kind: 'completed' }
  | { readonly kind: 'failed'; readonly error: unknown };

export interface SessionLimits {
  /** Messages buffered before the session pauses. */
  readonly maxMessages: number;
  /** Ciphertext characters buffered before the session pauses. */
  readonly maxChars: number;
}

/** A subscription up this long without a failure counts as healthy even if nothing arrived. */
const HEALTHY_AFTER_MS = 10_000;

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxMessages: 500,
  maxChars: 32 * 1024 * 1024,
};

export interface SessionEvents {
  /** A (re)connection began streaming. */
  readonly onConnected?: () => void;
  /** The connection was lost; the link is reconnecting by itself. */
  readonly onReconnecting?: (error: unknown) => void;
}

export class InboxSession {
  readonly #buffer: StoredMessage[] = [];
  readonly #limits: SessionLimits;
  readonly #signal: AbortSignal;
  readonly #onAbort = (): void => {
    this.#finish({ kind: 'aborted' });
  };
  #bufferedChars = 0;
  #end: SessionEnd | undefined;
  #wake: (() => void) | undefined;
  #subscription: Unsubscribable | undefined;
  #started = false;
  #startedAt = 0;
  #received = 0;

  constructor(
    connection: LiveConnection,
    after: string,
    signal: AbortSignal,
    events: SessionEvents = {},
    limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {
    this.#limits = limits;
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
    const subscription = connection.relay.inbox.subscribe(
      { after },
      {
        onStarted: () => {
          if (!this.#started) this.#startedAt = Date.now();
          this.#started = true;
          events.onConnected?.();
        },
        onData: ({ id, data }) => {
          this.#receive(id, data);
        },
        onError: (error) => {
          this.#finish({ kind: 'failed', error });
        },
        onComplete: () => {
          this.#finish({ kind: 'completed' });
        },
        onConnectionStateChange: (state) => {
          if (state.state === 'connecting' && state.error !== null) {
            events.onReconnecting?.(state.error);
          }
        },
      },
    );
    // A callback run during subscribe() may already have ended the session.
    if (this.#end === undefined) this.#subscription = subscription;
    else subscription.unsubscribe();
    // A protocol breach a reconnect would repeat (an oversized event) ends the session for good.
    connection.onViolation((error) => {
      this.#finish({ kind: 'failed', error });
    });
    if (signal.aborted) this.#onAbort();
  }

  /** Whether the relay accepted the subscription at least once. */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Whether the subscription did what one should: delivered a message, or stayed up a while. A
   * relay that accepts, then breaks every stream at once, earns growing delays, not a tight loop.
   */
  get healthy(): boolean {
    return (
      this.#received > 0 || (this.#started && Date.now() - this.#startedAt >= HEALTHY_AFTER_MS)
    );
  }

  /** Every message buffered so far (waiting for one), or how the session ended once drained. */
  async next(): Promise<StoredMessage[] | SessionEnd> {
    for (;;) {
      if (this.#end?.kind === 'aborted') return this.#end;
      if (this.#buffer.length > 0) {
        this.#bufferedChars = 0;
        return this.#buffer.splice(0);
      }
      if (this.#end !== undefined) return this.#end;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Ends the subscription (and so the connection's part in it); idempotent. */
  close(): void {
    this.#finish({ kind: 'aborted' });
  }

  #receive(id: string, data: unknown): void {
    if (this.#end !== undefined) return;
    const parsed = storedMessage.safeParse(data);
    if (!parsed.success || parsed.data.id !== id) {
      this.#finish({
        kind: 'failed',
        error: new DeadDropError(
          'RELAY_INVALID_RESPONSE',
          'the relay misbehaved: its live inbox sent a malformed message',
        ),
      });
      return;
    }
    this.#received++;
    this.#buffer.push(parsed.data);
    this.#bufferedChars += parsed.data.ciphertext.length;
    if (
      this.#buffer.length >= this.#limits.maxMessages ||
      this.#bufferedChars >= this.#limits.maxChars
    ) {
      this.#finish({ kind: 'paused' });
    }
    this.#notify();
  }

  #finish(end: SessionEnd): void {
    // The first end wins, except that the caller's abort overrides any other.
    if (this.#end !== undefined && end.kind !== 'aborted') return;
    if (this.#end?.kind === 'aborted') return;
    this.#end = end;
    this.#signal.removeEventListener('abort', this.#onAbort);
    const subscription = this.#subscription;
    this.#subscription = undefined;
    subscription?.unsubscribe();
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
