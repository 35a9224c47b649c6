// The SDK against a relay that lies (issue 12): every answer is checked against the contract, every
// call has a deadline, and whatever the relay does — wrong types, bad or backward cursors, replays
// under changing TTL claims, swapped keys, reordered or repeated messages, endless answers, huge or
// malformed events — the SDK fails that call with a typed error, never crashes or hangs, leaves its
// state file as it was, and never shows an unverified message as verified.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMessage } from '@deaddrop/contract';
import { DeadDropClient } from '../src/client.js';
import type { DeadDropClientOptions } from '../src/client-types.js';
import { isDeadDropError } from '../src/errors.js';
import { isUnreadable, type InboxEntry, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';
import { toDeadDropError } from '../src/relay-error.js';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import {
  innerWithBody,
  nestedArrays,
  sealedInner,
  sealedMessage,
} from '@deaddrop/test-support/hostile-envelopes';

const MIN = 60_000;

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;

async function newAgent(
  agentId: string,
  options: Partial<Omit<DeadDropClientOptions, 'identity'>> = {},
): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, agentId),
    relayUrl: relay.url,
  });
  return new DeadDropClient({ identity, ...options });
}

/** The same agent in a new process: its identity and state from disk, a fresh client. */
async function reopen(
  client: DeadDropClient,
  options: Partial<Omit<DeadDropClientOptions, 'identity'>> = {},
): Promise<DeadDropClient> {
  const identity = await loadIdentity(client.agentId, { home: client.identity.home });
  return new DeadDropClient({ identity, ...options });
}

function stateFile(client: DeadDropClient): Promise<string> {
  return readFile(
    join(client.identity.home, 'agents', `${client.agentId}.state.json`),
    'utf8',
  ).catch(() => '(none)');
}

function verified(entries: InboxEntry[]): ReceivedMessage[] {
  return entries.filter(
    (entry): entry is ReceivedMessage => !isUnreadable(entry) && entry.verified,
  );
}

async function rejection(promise: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isDeadDropError(error)) return { reason: error.reason, message: error.message };
    throw new Error(`not a DeadDropError: ${String(error)}`, { cause: error });
  }
  throw new Error('expected a rejection');
}

/** Reads bob's live inbox until `count` entries came or it ended; returns them and how it ended. */
async function liveEntries(
  client: DeadDropClient,
  count: number,
  timeoutMs = 5_000,
): Promise<{ entries: InboxEntry[]; error: unknown }> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  const entries: InboxEntry[] = [];
  let error: unknown;
  try {
    for await (const entry of client.inbox({ signal: controller.signal })) {
      entries.push(entry);
      if (entries.length >= count) break;
    }
  } catch (thrown) {
    error = thrown;
  } finally {
    clearTimeout(timer);
  }
  return { entries, error };
}

/** Moves bob's cursor past everything delivered so far. */
async function drain(client: DeadDropClient): Promise<void> {
  for (let page = await client.pollAndDecrypt({ limit: 100 }); page.length > 0;)
    page = await client.pollAndDecrypt({ limit: 100 });
}

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay({ limits: { maxWaitMs: 2_000 } }),
    mkdtemp(join(tmpdir(), 'deaddrop-hostile-sdk-')),
  ]);
  [alice, bob] = await Promise.all([
    newAgent('alice'),
    newAgent('bob', { requestTimeoutMs: 1_500 }),
  ]);
  await Promise.all([alice.register(), bob.register()]);
});

afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  relay.behaveHonestly();
  relay.setLimits({ ttlSeconds: 86_400 });
  await drain(bob);
});

describe('a hostile sender', () => {
  it('cannot jam the mailbox with 2,000 nested arrays: poll and live inbox move past it', async () => {
    const good = (n: number) => sealedMessage(alice.identity, bob.identity, { n }).ciphertext;
    const deep = () =>
      sealedInner(
        alice.identity,
        bob.identity,
        innerWithBody(alice.identity, bob.identity, nestedArrays(2_000)),
      );
    const ids = [good(1), deep(), good(2)].map((ciphertext) => relay.deliver('bob', ciphertext).id);

    const polled = await bob.pollAndDecrypt();
    expect(polled.map((entry) => entry.id)).toEqual(ids);
    expect(polled[1]).toMatchObject({ id: ids[1], error: 'bad-inner' });
    expect(verified(polled).map((entry) => entry.body)).toEqual([{ n: 1 }, { n: 2 }]);
    // The cursor moved past it: the mailbox reads on.
    expect(await bob.pollAndDecrypt()).toEqual([]);

    for (const ciphertext of [good(3), deep(), good(4)]) relay.deliver('bob', ciphertext);
    const live = await liveEntries(await reopen(bob), 3);
    expect(live.error).toBeUndefined();
    expect(live.entries.map((entry) => (isUnreadable(entry) ? entry.error : entry.body))).toEqual([
      { n: 3 },
      'bad-inner',
      { n: 4 },
    ]);
    expect(await bob.pollAndDecrypt()).toEqual([]);
  });
});

describe('a hostile relay', () => {
  it('cannot save a bad cursor: the poll fails, the state file is untouched, and it recovers', async () => {
    relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'kept for later').ciphertext);
    const before = await stateFile(bob);
    relay.misbehave('poll', async (call) => {
      const honest = await call.honest();
      return 'data' in honest
        ? { data: { ...honest.data, cursor: 'not-a-message-id/../../x' } }
        : honest;
    });
    const refused = await rejection(bob.pollAndDecrypt());
    expect(refused.reason).toBe('RELAY_INVALID_RESPONSE');
    expect(refused.message).toContain('poll');
    expect(await stateFile(bob)).toBe(before);

    relay.behaveHonestly();
    const entries = await bob.pollAndDecrypt();
    expect(verified(entries).map((entry) => entry.body)).toEqual(['kept for later']);
  });

  it.each<[string, (message: StoredMessage) => unknown]>([
    ['a ciphertext that is a number', (message) => ({ ...message, ciphertext: 12345 })],
    ['an id that is not an id', (message) => ({ ...message, id: '../x' })],
    ['a missing receivedAt', ({ id, ciphertext, expiresAt }) => ({ id, ciphertext, expiresAt })],
    ['a message that is a string', () => 'message'],
  ])('refuses a poll answer with %s as RELAY_INVALID_RESPONSE', async (_, tamper) => {
    relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'x').ciphertext);
    const before = await stateFile(bob);
    relay.misbehave('poll', async (call) => {
      const honest = await call.honest();
      return 'data' in honest
        ? { data: { ...honest.data, messages: honest.data.messages.map(tamper) } }
        : honest;
    });
    expect((await rejection(bob.pollAndDecrypt())).reason).toBe('RELAY_INVALID_RESPONSE');
    expect(await stateFile(bob)).toBe(before);
  });

  it('refuses cursors that go backwards and messages reordered or repeated', async () => {
    const one = relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 1).ciphertext);
    await bob.pollAndDecrypt();
    const two = relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 2).ciphertext);
    const three = relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 3).ciphertext);
    const before = await stateFile(bob);
    const answers: unknown[] = [
      // Backwards: a message at or before the cursor.
      { messages: [one, two], cursor: two.id },
      { messages: [], cursor: '0-0' },
      // Reordered and repeated.
      { messages: [three, two], cursor: two.id },
      { messages: [two, two], cursor: two.id },
      // A cursor that is not the last message's id.
      { messages: [two], cursor: three.id },
    ];
    for (const data of answers) {
      relay.misbehave('poll', () => ({ data }));
      expect((await rejection(bob.pollAndDecrypt())).reason, JSON.stringify(data)).toBe(
        'RELAY_INVALID_RESPONSE',
      );
      expect(await stateFile(bob)).toBe(before);
    }
    relay.behaveHonestly();
    expect(verified(await bob.pollAndDecrypt()).map((entry) => entry.body)).toEqual([2, 3]);
  });

  it('cannot replay old mail as verified by claiming a short TTL, then a long one', async () => {
    let now = Date.now();
    const clock = () => now;
    const victim = await reopen(bob, { now: clock });
    relay.setLimits({ ttlSeconds: 1 });
    const sealed = sealedMessage(alice.identity, bob.identity, 'pay 10 once', now);
    relay.deliver('bob', sealed.ciphertext);
    expect(verified(await victim.pollAndDecrypt()).map((entry) => entry.body)).toEqual([
      'pay 10 once',
    ]);

    // 11 minutes later the id's memory (sentAt + 1 s + 10 min) has lapsed: the next save
    // (another message arriving) prunes it.
    now += 11 * MIN;
    relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'later', now).ciphertext);
    expect(verified(await victim.pollAndDecrypt()).map((entry) => entry.body)).toEqual(['later']);

    // Next run, the relay claims ten years and serves the same ciphertext again.
    relay.setLimits({ ttlSeconds: 10 * 365 * 86_400 });
    const again = await reopen(bob, { now: clock });
    relay.deliver('bob', sealed.ciphertext);
    const [replayed, ...rest] = await again.pollAndDecrypt();
    expect(rest).toEqual([]);
    expect(replayed).toMatchObject({ uid: sealed.uid, verified: false, reason: 'stale' });
  });

  it('cannot stretch the freshness window past the client bound (7 days by default)', async () => {
    relay.setLimits({ ttlSeconds: 10 * 365 * 86_400 });
    const eightDaysAgo = Date.now() - 8 * 86_400_000;
    relay.deliver(
      'bob',
      sealedMessage(alice.identity, bob.identity, 'old', eightDaysAgo).ciphertext,
    );
    expect(await bob.pollAndDecrypt()).toMatchObject([{ verified: false, reason: 'stale' }]);

    // A client that allows 30 days takes the same message as verified.
    const patient = await newAgent('patient', { maxMessageAgeMs: 30 * 86_400_000 });
    await patient.register();
    relay.deliver(
      'patient',
      sealedMessage(alice.identity, patient.identity, 'old', eightDaysAgo).ciphertext,
    );
    expect(await patient.pollAndDecrypt()).toMatchObject([{ verified: true, body: 'old' }]);
  });

  it('cannot swap a pinned key: sends refuse, forged mail is not verified, real mail is', async () => {
    await bob.sendMessage({ to: 'alice', message: 'pins alice' });
    const mallory = await newAgent('mallory');
    relay.registerAgent('alice', mallory.agentKey);
    try {
      expect((await rejection(bob.sendMessage({ to: 'alice', message: 'x' }))).reason).toBe(
        'KEY_CHANGED',
      );
      const forged = sealedMessage(
        { ...mallory.identity, agentId: 'alice' },
        bob.identity,
        'I am alice',
      );
      relay.deliver('bob', forged.ciphertext);
      relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'really alice').ciphertext);
      const entries = await bob.pollAndDecrypt();
      expect(entries).toMatchObject([
        { from: 'alice', verified: false, reason: 'key-mismatch', body: 'I am alice' },
        { from: 'alice', verified: true, body: 'really alice' },
      ]);
    } finally {
      relay.registerAgent('alice', alice.agentKey);
    }
  });

  it('gets a directory answer for another agent refused', async () => {
    relay.misbehave('directory.lookup', () => ({
      data: { agentId: 'mallory', agentKey: alice.agentKey, registeredAt: 1 },
    }));
    const stranger = await newAgent('stranger');
    expect((await rejection(stranger.sendMessage({ to: 'alice', message: 'x' }))).reason).toBe(
      'RELAY_INVALID_RESPONSE',
    );
    expect(stranger.pins().size).toBe(0);
  });

  it('fails calls it never answers, or answers forever, within the request timeout', async () => {
    const before = await stateFile(bob);
    for (const answer of [{ hang: true } as const, { trickle: { intervalMs: 100 } } as const]) {
      relay.misbehave('poll', () => answer);
      const started = Date.now();
      const refused = await rejection(bob.pollAndDecrypt());
      expect(refused.reason).toBe('RELAY_UNREACHABLE');
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(await stateFile(bob)).toBe(before);
    }
    relay.misbehave('stats', () => ({ hang: true }));
    expect((await rejection(bob.stats())).reason).toBe('RELAY_UNREACHABLE');
  });

  it('fails a long-poll the relay holds past its wait, within the wait plus the timeout', async () => {
    relay.misbehave('poll', () => ({ hang: true }));
    const started = Date.now();
    expect((await rejection(bob.pollAndDecrypt({ timeoutMs: 1_000 }))).reason).toBe(
      'RELAY_UNREACHABLE',
    );
    expect(Date.now() - started).toBeLessThan(1_000 + 1_500 + 1_500);
  });

  it('cannot make the SDK hold an answer larger than its bound', async () => {
    const small = await reopen(bob, { maxResponseBytes: 64 * 1024 });
    relay.misbehave('stats', () => ({
      raw: { status: 200, body: `{"result":{"data":{"json":"${'x'.repeat(1_000_000)}"}}}` },
    }));
    const refused = await rejection(small.stats());
    expect(refused.reason).toBe('RELAY_INVALID_RESPONSE');
    expect(refused.message).toContain('larger than');
  });

  it('refuses relay limits past what the protocol allows (the SDK sizes buffers by them)', async () => {
    relay.misbehave('info', async (call) => {
      const honest = await call.honest();
      return 'data' in honest
        ? { data: { ...honest.data, limits: { ...honest.data.limits, maxMessageBytes: 2 ** 40 } } }
        : honest;
    });
    const fresh = await reopen(bob);
    expect((await rejection(fresh.info())).reason).toBe('RELAY_INVALID_RESPONSE');
  });

  it('gets a stats answer for another mailbox refused', async () => {
    relay.misbehave('stats', async (call) => {
      const honest = await call.honest();
      return 'data' in honest ? { data: { ...honest.data, agentId: 'alice' } } : honest;
    });
    expect((await rejection(bob.stats())).reason).toBe('RELAY_INVALID_RESPONSE');
  });

  it('ends the live inbox with RELAY_INVALID_RESPONSE on an event past the size bound', async () => {
    relay.misbehave('inbox', () => ({
      events: [{ raw: 'data: {"json":"' }, { repeat: 'x'.repeat(65_536), times: 40 }],
      then: 'hang',
    }));
    const { entries, error } = await liveEntries(await reopen(bob), 1);
    expect(entries).toEqual([]);
    expect(isDeadDropError(error, 'RELAY_INVALID_RESPONSE')).toBe(true);
  });

  it('ends the live inbox on a malformed or foreign message, delivering what came before', async () => {
    relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'first').ciphertext);
    relay.misbehave('inbox', (request) => ({
      events: [
        ...relay
          .mailbox('bob')
          .filter((message) => request.lastEventId === null || message.id > request.lastEventId)
          .map((message) => ({ message })),
        { message: { id: '99-1', ciphertext: 12345, receivedAt: 99, expiresAt: 100 } },
      ],
      then: 'hang',
    }));
    const { entries, error } = await liveEntries(await reopen(bob), 5);
    expect(entries.map((entry) => (isUnreadable(entry) ? entry.error : entry.body))).toEqual([
      'first',
    ]);
    expect(isDeadDropError(error, 'RELAY_INVALID_RESPONSE')).toBe(true);
  });

  it('rides out garbage and hostile reconnect advice without a tight loop, then reads on', async () => {
    relay.deliver('bob', sealedMessage(alice.identity, bob.identity, 'after the storm').ciphertext);
    const before = relay.callsTo('inbox').length;
    relay.misbehave('inbox', (request) =>
      request.count - before < 3
        ? {
            preamble: false,
            events: [
              { raw: 'retry: 0\nevent: connected\ndata: {"reconnectAfterInactivityMs":1}\n\n' },
              { raw: 'id: 1-1\ndata: {not json\n\n' },
            ],
            then: 'end',
          }
        : { honest: true },
    );
    const started = Date.now();
    const { entries, error } = await liveEntries(await reopen(bob), 1, 15_000);
    expect(error).toBeUndefined();
    expect(verified(entries).map((entry) => entry.body)).toEqual(['after the storm']);
    // Three refused streams, with growing delays between them, not hundreds of attempts.
    expect(relay.callsTo('inbox').length - before).toBeLessThan(10);
    expect(Date.now() - started).toBeGreaterThan(500);
  });

  // Of Object.prototype's members only `constructor` is a valid agent id (ids are lower case and
  // start with a letter or digit: no toString, hasOwnProperty or __proto__); state files, whose
  // keys are any string, are tested with them in mailbox-state.test.ts and keystore.test.ts.
  it('cannot break pinning with an agent named constructor', async () => {
    const constructorAgent = await newAgent('constructor');
    await constructorAgent.register();
    await constructorAgent.sendMessage({ to: 'bob', message: 'hello from constructor' });
    expect(await bob.pollAndDecrypt()).toMatchObject([
      { from: 'constructor', verified: true, pinSource: 'directory' },
    ]);
    await expect(bob.sendMessage({ to: 'constructor', message: 'hi' })).resolves.toMatchObject({
      to: 'constructor',
    });
    expect(bob.pins().get('constructor')?.key).toBe(constructorAgent.agentKey);
    expect(await constructorAgent.pollAndDecrypt()).toMatchObject([
      { from: 'bob', verified: true },
    ]);
  });
});

describe('a relay answering a group send (sendMany)', () => {
  const groupSend = async () => {
    const carol = await newAgent(`carol-${Date.now().toString(36)}`);
    await carol.register();
    const recipients = [bob, carol];
    const items = recipients.map((recipient, n) => ({
      to: recipient.agentId,
      ciphertext: sealedMessage(alice.identity, recipient.identity, { n }).ciphertext,
    }));
    const call = () =>
      alice.relay.sendMany.mutate({ items }).catch((error: unknown) => {
        throw toDeadDropError(error, relay.url);
      });
    return { recipients, call };
  };

  it('is taken when one result answers each item, in order', async () => {
    const { recipients, call } = await groupSend();
    const answer = await call();
    expect(answer.results.map((result) => [result.to, result.ok])).toEqual(
      recipients.map((recipient) => [recipient.agentId, true]),
    );
  });

  it.each([
    ['reordered', (results: unknown[]) => [...results].reverse(), 'answers for'],
    ['missing one', (results: unknown[]) => results.slice(1), 'holds 1 results for 2 recipients'],
    ['with one extra', (results: unknown[]) => [...results, ...results.slice(0, 1)], 'holds 3'],
  ])('is refused when its results are %s', async (_, tamper, problem) => {
    const { call } = await groupSend();
    relay.misbehave('sendMany', async (context) => {
      const honest = await context.honest();
      if (!('data' in honest)) return honest;
      return { data: { results: tamper(honest.data.results) } };
    });
    const { reason, message } = await rejection(call());
    expect(reason).toBe('RELAY_INVALID_RESPONSE');
    expect(message).toContain(problem);
  });
});
