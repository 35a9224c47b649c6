import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '@deaddrop/contract';
import { DeadDropError } from '../errors.js';
import { compareMessageIds } from '../message-id.js';
import type { RelayClient } from '../transport.js';
import { followInbox, isFatal, type LiveConnectionEvent } from './follow-inbox.js';
import type { LiveConnection } from './live-connection.js';

const stored = (id: string): StoredMessage => ({
  id,
  ciphertext: `c-${id}`,
  receivedAt: 1,
  expiresAt: 2,
});

interface Callbacks {
  onStarted?: () => void;
  onData?: (value: { id: string; data: unknown }) => void;
  onError?: (error: unknown) => void;
  onComplete?: () => void;
}

/** What one subscription does: send `send` of the mailbox after its cursor, then end as told. */
interface Script {
  readonly send?: number;
  readonly end?: 'fail' | 'complete' | 'stay';
  readonly error?: unknown;
  readonly reusedProof?: boolean;
  readonly refusal?: DeadDropError;
  /** Messages to send as they are, ignoring the cursor (a misbehaving relay). */
  readonly raw?: readonly StoredMessage[];
}

/** A relay whose mailbox holds `mailbox`; each new connection plays the next script. */
function scriptedRelay(mailbox: readonly StoredMessage[], scripts: readonly Script[]) {
  const afters: string[] = [];
  let connections = 0;
  const connect = (): LiveConnection => {
    const script = scripts[connections++] ?? { end: 'stay' };
    const relay = {
      inbox: {
        subscribe: (input: { after: string }, callbacks: Callbacks) => {
          afters.push(input.after);
          let unsubscribed = false;
          const live = () => !unsubscribed;
          queueMicrotask(() => {
            if (!live()) return;
            callbacks.onStarted?.();
            const batch =
              script.raw ??
              mailbox
                .filter((message) => compareMessageIds(message.id, input.after) > 0)
                .slice(0, script.send ?? Infinity);
            for (const message of batch) {
              if (live()) callbacks.onData?.({ id: message.id, data: message });
            }
            if (!live()) return;
            if (script.end === 'fail') callbacks.onError?.(script.error);
            if (script.end === 'complete') callbacks.onComplete?.();
          });
          return {
            unsubscribe: () => {
              unsubscribed = true;
            },
          };
        },
      },
    } as unknown as RelayClient;
    return {
      relay,
      reusedProof: script.reusedProof ?? false,
      refusal: script.refusal,
      onViolation: () => undefined,
      close: () => undefined,
    };
  };
  return { connect, afters, connections: () => connections };
}

async function collect(
  options: Omit<Parameters<typeof followInbox>[0], 'signal' | 'relayUrl'>,
  count: number,
) {
  const controller = new AbortController();
  const ids: string[] = [];
  const events: LiveConnectionEvent[] = [];
  for await (const batch of followInbox({
    ...options,
    signal: controller.signal,
    relayUrl: 'http://relay.test',
    restartDelayMs: () => 0,
    onConnection: (event) => events.push(event),
  })) {
    ids.push(...batch.map((message) => message.id));
    if (ids.length >= count) controller.abort();
  }
  return { ids, events };
}

const mailbox = ['1-0', '2-0', '3-0', '4-0', '5-0'].map(stored);
const transientError = new TRPCClientError('socket hang up');

describe('followInbox', () => {
  it('restarts after a failure exactly after the last message received', async () => {
    const relay = scriptedRelay(mailbox, [
      { send: 2, end: 'fail', error: transientError },
      { send: 1, end: 'complete' },
      {},
    ]);
    const { ids, events } = await collect({ after: '0-0', connect: relay.connect }, 5);
    expect(ids).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    expect(relay.afters).toEqual(['0-0', '2-0', '3-0']);
    expect(events.filter((event) => event.state === 'reconnecting')).toHaveLength(2);
  });

  it('pauses a subscription that buffers too much and resumes after what it buffered', async () => {
    const relay = scriptedRelay(mailbox, [{}, {}, {}]);
    const { ids } = await collect(
      { after: '0-0', connect: relay.connect, limits: { maxMessages: 2, maxChars: 1e9 } },
      5,
    );
    expect(ids).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    expect(relay.afters).toEqual(['0-0', '2-0', '4-0']);
  });

  it('drops messages at or before its cursor, so a replaying relay causes no duplicate', async () => {
    const relay = scriptedRelay(mailbox, [
      { raw: ['1-0', '3-0', '2-0', '3-0', '10-0'].map(stored), end: 'stay' },
    ]);
    const { ids } = await collect({ after: '1-0', connect: relay.connect }, 2);
    expect(ids).toEqual(['3-0', '10-0']);
  });

  it('throws when a fresh proof is refused, but restarts when a reused one is', async () => {
    const refusal = new DeadDropError('AUTH_REPLAYED', 'authorization nonce was already used', {
      httpStatus: 401,
    });
    const reused = scriptedRelay(mailbox, [
      { send: 1, end: 'fail', reusedProof: true, refusal },
      {},
    ]);
    const { ids, events } = await collect({ after: '0-0', connect: reused.connect }, 5);
    expect(ids).toHaveLength(5);
    expect(events).toContainEqual({ state: 'reconnecting', error: refusal });

    const fresh = scriptedRelay(mailbox, [{ send: 0, end: 'fail', refusal }]);
    await expect(collect({ after: '0-0', connect: fresh.connect }, 5)).rejects.toBe(refusal);
    expect(fresh.connections()).toBe(1);
  });

  it('fails on a malformed message from the relay', async () => {
    const relay = scriptedRelay(mailbox, [
      { raw: [{ ...stored('1-0'), receivedAt: -1 }], end: 'stay' },
    ]);
    await expect(collect({ after: '0-0', connect: relay.connect }, 1)).rejects.toMatchObject({
      reason: 'RELAY_INVALID_RESPONSE',
    });
  });

  it('ends quietly, yielding nothing more, once its signal aborts', async () => {
    const relay = scriptedRelay(mailbox, [{ end: 'stay' }]);
    const controller = new AbortController();
    controller.abort();
    const batches = [];
    for await (const batch of followInbox({
      after: '0-0',
      connect: relay.connect,
      signal: controller.signal,
      relayUrl: 'http://relay.test',
    })) {
      batches.push(batch);
    }
    expect(batches).toEqual([]);
  });
});

describe('isFatal', () => {
  const error = (reason: ConstructorParameters<typeof DeadDropError>[0], httpStatus?: number) =>
    new DeadDropError(reason, 'x', httpStatus === undefined ? {} : { httpStatus });

  it('gives up on refusals no retry can fix', () => {
    expect(isFatal(error('AGENT_NOT_REGISTERED', 401), false)).toBe(true);
    expect(isFatal(error('API_KEY_INVALID', 401), false)).toBe(true);
    expect(isFatal(error('BAD_INPUT', 400), false)).toBe(true);
    expect(isFatal(error('RELAY_ERROR', 404), false)).toBe(true);
  });

  it('retries a refused reused proof and anything transient', () => {
    expect(isFatal(error('AUTH_REPLAYED', 401), true)).toBe(false);
    expect(isFatal(error('RELAY_UNREACHABLE'), false)).toBe(false);
    expect(isFatal(error('RELAY_INVALID_RESPONSE'), false)).toBe(false);
    expect(isFatal(error('STORE_UNAVAILABLE', 503), false)).toBe(false);
    expect(isFatal(error('RELAY_ERROR', 502), false)).toBe(false);
    expect(isFatal(error('MAILBOX_FULL', 429), false)).toBe(false);
  });
});
