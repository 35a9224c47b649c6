// Follows a mailbox live across connections: one subscription at a time, each started after the last
// message received, so whatever ends one (a failure, a refused reused proof, a pause) leaves no gap
// and no duplicate. Reconnects inside a subscription are the link's (tRPC resumes with lastEventId).
import type { StoredMessage } from '@deaddrop/contract';
import { isRelayErrorReason } from '@deaddrop/contract';
import { DeadDropError } from '../errors.js';
import { compareMessageIds } from '../message-id.js';
import { toDeadDropError } from '../relay-error.js';
import { DEFAULT_SESSION_LIMITS, InboxSession, type SessionLimits } from './inbox-session.js';
import type { LiveConnection } from './live-connection.js';

/** What a live inbox reports about its connection, for logs and status lines. */
export type LiveConnectionEvent =
  | { readonly state: 'connected' }
  | { readonly state: 'reconnecting'; readonly error: DeadDropError };

export interface FollowInboxOptions {
  /** Relay id to start after. */
  readonly after: string;
  /** A new connection, signing fresh proofs, for each subscription. */
  readonly connect: () => LiveConnection;
  readonly signal: AbortSignal;
  /** For error messages. */
  readonly relayUrl: string;
  readonly onConnection?: ((event: LiveConnectionEvent) => void) | undefined;
  /** Delay before restarting after `failures` subscriptions in a row that were not healthy. */
  readonly restartDelayMs?: (failures: number) => number;
  readonly limits?: SessionLimits;
  /**
   * Registers the agent again after a relay refused it as AGENT_NOT_REGISTERED (its store lost
   * the directory); the inbox then reconnects. Once per run of refusals: a second refusal right
   * after is thrown. Without it, the refusal is thrown.
   */
  readonly reregister?: ((refusal: DeadDropError) => Promise<void>) | undefined;
}

function restartDelayMs(failures: number): number {
  return failures === 0 ? 100 : Math.min(500 * 2 ** (failures - 1), 10_000);
}

/**
 * Batches of stored messages in strictly increasing id order, each after `after`. Ends when the
 * signal aborts; throws only for a failure that retrying cannot fix (a fresh proof refused, input
 * the relay rejects, a malformed message); anything else is retried, with growing delays.
 */
export async function* followInbox(
  options: FollowInboxOptions,
): AsyncGenerator<StoredMessage[], void, undefined> {
  const { signal } = options;
  const delayFor = options.restartDelayMs ?? restartDelayMs;
  let cursor = options.after;
  let failures = 0;
  let reregistered = false;
  while (!signal.aborted) {
    const connection = options.connect();
    const session = new InboxSession(
      connection,
      cursor,
      signal,
      {
        onConnected: () => options.onConnection?.({ state: 'connected' }),
        onReconnecting: (error) => {
          options.onConnection?.({
            state: 'reconnecting',
            error: connectionLost(error, options.relayUrl),
          });
        },
      },
      options.limits ?? DEFAULT_SESSION_LIMITS,
    );
    let next: Awaited<ReturnType<InboxSession['next']>>;
    try {
      while (Array.isArray((next = await session.next()))) {
        // A relay replaying what this stream already passed on must not cause a duplicate.
        const fresh: StoredMessage[] = [];
        for (const message of next) {
          if (compareMessageIds(message.id, cursor) <= 0) continue;
          fresh.push(message);
          cursor = message.id;
        }
        if (fresh.length > 0) yield fresh;
      }
    } finally {
      session.close();
      connection.close();
    }
    if (session.healthy) {
      failures = 0;
      reregistered = false;
    }
    switch (next.kind) {
      case 'aborted':
        return;
      case 'paused':
        continue;
      case 'completed':
      case 'failed': {
        const error =
          next.kind === 'failed'
            ? (connection.refusal ?? connectionLost(next.error, options.relayUrl))
            : new DeadDropError(
                'RELAY_ERROR',
                `the relay at ${options.relayUrl} ended the live inbox`,
              );
        // The session's own DeadDropError means the relay sent nonsense: retrying would repeat it.
        const fatal =
          next.kind === 'failed' &&
          (next.error instanceof DeadDropError || isFatal(error, connection.reusedProof));
        if (
          fatal &&
          !reregistered &&
          options.reregister !== undefined &&
          error.reason === 'AGENT_NOT_REGISTERED'
        ) {
          reregistered = true;
          await options.reregister(error);
          options.onConnection?.({ state: 'reconnecting', error });
          continue;
        }
        if (fatal) throw error;
        options.onConnection?.({ state: 'reconnecting', error });
        await sleep(delayFor(failures++), signal);
      }
    }
  }
}

/** A refusal no retry can fix; a refused *reused* proof is expected and is fixed by a fresh one. */
export function isFatal(error: DeadDropError, reusedProof: boolean): boolean {
  const authRefusal =
    error.httpStatus === 401 ||
    error.reason === 'API_KEY_INVALID' ||
    (isRelayErrorReason(error.reason) && error.reason.startsWith('AUTH_'));
  if (authRefusal) return !reusedProof;
  return error.httpStatus === 400 || error.httpStatus === 403 || error.httpStatus === 404;
}

/** A link error as a DeadDropError: the relay's own reason if it gave one, else a lost connection. */
function connectionLost(error: unknown, relayUrl: string): DeadDropError {
  const mapped = toDeadDropError(error, relayUrl);
  if (error instanceof DeadDropError || mapped.reason !== 'RELAY_INVALID_RESPONSE') return mapped;
  return new DeadDropError(
    'RELAY_UNREACHABLE',
    `lost the live connection to the relay at ${relayUrl} (${innermostMessage(error)})`,
    { cause: error },
  );
}

/**
 * The most specific message in a chain of causes ("connect ECONNREFUSED …", not "Initialization
 * error"). Causes are Errors or DOM-style events (eventsource's, ws's ErrorEvent) with a message.
 */
function innermostMessage(error: unknown): string {
  let message: string | undefined;
  let innermost: unknown = error;
  for (let cause: unknown = error; typeof cause === 'object' && cause !== null;) {
    const { message: text, cause: next } = cause as { message?: unknown; cause?: unknown };
    // tRPC's stand-in for a cause without a message says nothing.
    if (typeof text === 'string' && text !== '' && text !== UNKNOWN_ERROR) message = text;
    innermost = cause;
    cause = next;
  }
  if (message !== undefined) return message.replace(FETCH_FAILED, '');
  // eventsource reports a response body that simply ended with an error event without a message.
  const ended = typeof innermost === 'object' && innermost !== null && 'type' in innermost;
  return ended ? 'the relay closed the stream' : String(error);
}

/** tRPC's message for a cause that has none (TRPCClientError.from). */
const UNKNOWN_ERROR = 'Unknown error';

/** eventsource flattens undici's failure as "TypeError: fetch failed: <the socket's error>". */
const FETCH_FAILED = /^TypeError: fetch failed: /;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
