// Group send (PROTOCOL §8) through the real relay over HTTP with the real tRPC client, on both
// store drivers: each item stored or refused exactly as `send` would have done it, the whole
// request refused only for its shape or its total size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, randomBytes, toB64u } from '@deaddrop/contract';
import { createMailboxStore } from '../src/store/create-store.js';
import { countStoreErrors } from '../src/store/error-counting-store.js';
import { StoreUnavailableError, type MailboxStore } from '../src/store/mailbox-store.js';
import {
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  rejection,
  seal,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

const MAX_MESSAGE = 4169;
const idemKey = (): string => toB64u(randomBytes(16));

/** An envelope as the relay checks it (version byte 0x01, `bytes` long), sealed to nobody. */
function envelopeOf(bytes: number): string {
  const raw = randomBytes(bytes);
  raw[0] = 1;
  return toB64u(raw);
}

let unique = 0;
function agent(name: string): TestAgent {
  unique += 1;
  return makeAgent(`${name}-${process.pid}-${unique}`);
}

describe.each<StoreKind>(['embedded', 'redis'])('sendMany (%s store)', (kind) => {
  let relay: TestRelay;
  const sender = agent('sender');

  beforeAll(async () => {
    relay = await startTestRelay(kind, {
      MAX_MESSAGE_SIZE: String(MAX_MESSAGE),
      MAX_BATCH_BYTES: String(3 * MAX_MESSAGE),
      STREAM_MAX_LEN: '3',
    });
  });
  afterAll(async () => {
    await relay.stop();
  });

  const registered = async (...names: string[]): Promise<TestAgent[]> => {
    const agents = names.map(agent);
    for (const each of agents) await register(relay.url, relay.relayId, each);
    return agents;
  };
  const poll = (owner: TestAgent) =>
    mailboxClient(relay.url, relay.relayId, owner, 'poll').poll.query({});
  const count = async (owner: TestAgent) =>
    (await mailboxClient(relay.url, relay.relayId, owner, 'stats').stats.query()).count;

  it('stores for 3 of 5 recipients and answers the unregistered and the full one as send would', async () => {
    const [first, second, third, full] = await registered('first', 'second', 'third', 'full');
    if (first === undefined || second === undefined || third === undefined || full === undefined)
      throw new Error('four agents were registered');
    const client = rawClient(relay.url);
    for (let n = 0; n < 3; n++)
      await client.send.mutate({ to: full.agentId, ciphertext: seal(sender, full) });
    const stranger = agent('stranger');
    const recipients = [first, stranger, second, full, third];
    const items = recipients.map((to) => ({ to: to.agentId, ciphertext: seal(sender, to) }));

    const { results } = await client.sendMany.mutate({ items });

    expect(results.map((result) => [result.to, result.ok])).toEqual(
      recipients.map((to) => [to.agentId, to !== stranger && to !== full]),
    );
    const [toStranger, toFull] = [results[1], results[3]];
    const sendAnswers = await Promise.all(
      [stranger, full].map((to) =>
        rejection(client.send.mutate({ to: to.agentId, ciphertext: seal(sender, to) })),
      ),
    );
    expect(toStranger).toEqual({
      to: stranger.agentId,
      ok: false,
      code: 'NOT_FOUND',
      reason: 'AGENT_NOT_FOUND',
      message: sendAnswers[0]?.message,
    });
    expect(toFull).toEqual({
      to: full.agentId,
      ok: false,
      code: 'TOO_MANY_REQUESTS',
      reason: 'MAILBOX_FULL',
      message: sendAnswers[1]?.message,
    });
    // Each stored message is its owner's to read, under the id its result named.
    for (const [index, owner] of [first, second, third].entries()) {
      const result = results[[0, 2, 4][index] ?? -1];
      const page = await poll(owner);
      expect(page.messages.map((message) => message.id)).toEqual([result?.ok ? result.id : '']);
      expect(page.messages[0]?.ciphertext).toBe(items[[0, 2, 4][index] ?? -1]?.ciphertext);
    }
    expect(await count(full)).toBe(3);
  });

  it('refuses the whole request for a recipient named twice, no items or more than 100', async () => {
    const [bob] = await registered('bob');
    if (bob === undefined) throw new Error('bob was registered');
    const client = rawClient(relay.url);
    const item = { to: bob.agentId, ciphertext: seal(sender, bob) };
    const hundredAndOne = Array.from({ length: 101 }, (_, n) => ({
      to: `many-${n}`,
      ciphertext: item.ciphertext,
    }));
    for (const items of [[item, item], [], hundredAndOne]) {
      expect(await rejection(client.sendMany.mutate({ items }))).toMatchObject({
        code: 'BAD_REQUEST',
        status: 400,
        reason: 'BAD_INPUT',
      });
    }
    expect(await count(bob)).toBe(0);
  });

  it('refuses the whole request when its ciphertexts add up to more than maxBatchBytes', async () => {
    const agents = await registered('a', 'b', 'c', 'd');
    const client = rawClient(relay.url);
    // 4 × 3200 bytes: each item within maxMessageBytes, together over 3 × 4169.
    const items = agents.map((to) => ({ to: to.agentId, ciphertext: envelopeOf(3200) }));
    const refused = await rejection(client.sendMany.mutate({ items }));
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', status: 400, reason: 'BAD_INPUT' });
    expect(refused.message).toContain(`12800 bytes; this relay accepts at most ${3 * MAX_MESSAGE}`);
    for (const to of agents) expect(await count(to)).toBe(0);
    // Exactly the limit is allowed.
    const exact = agents
      .slice(0, 3)
      .map((to) => ({ to: to.agentId, ciphertext: envelopeOf(MAX_MESSAGE) }));
    const { results } = await client.sendMany.mutate({ items: exact });
    expect(results.every((result) => result.ok)).toBe(true);
  });

  it('refuses an oversize item alone, as MESSAGE_TOO_LARGE', async () => {
    const [small, large] = await registered('small', 'large');
    if (small === undefined || large === undefined) throw new Error('two agents were registered');
    const client = rawClient(relay.url);
    const { results } = await client.sendMany.mutate({
      items: [
        { to: large.agentId, ciphertext: envelopeOf(MAX_MESSAGE + 1) },
        { to: small.agentId, ciphertext: seal(sender, small) },
      ],
    });
    expect(results[0]).toMatchObject({
      to: large.agentId,
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'MESSAGE_TOO_LARGE',
    });
    expect(results[1]).toMatchObject({ to: small.agentId, ok: true, duplicate: false });
    expect([await count(large), await count(small)]).toEqual([0, 1]);
  });

  it('keeps idempotency per item: the same request again stores nothing twice', async () => {
    const agents = await registered('once-a', 'once-b');
    const client = rawClient(relay.url);
    const items = agents.map((to) => ({
      to: to.agentId,
      ciphertext: seal(sender, to),
      idempotencyKey: idemKey(),
    }));
    const first = await client.sendMany.mutate({ items });
    const again = await client.sendMany.mutate({ items });
    expect(first.results.map((result) => result.ok && result.duplicate)).toEqual([false, false]);
    expect(again.results).toEqual(first.results.map((result) => ({ ...result, duplicate: true })));
    for (const to of agents) expect(await count(to)).toBe(1);
    // Another message under one item's key is that item's conflict only.
    const [changed, same] = [items[0], items[1]];
    if (changed === undefined || same === undefined) throw new Error('two items were built');
    const conflict = await client.sendMany.mutate({
      items: [{ ...changed, ciphertext: envelopeOf(500) }, same],
    });
    expect(conflict.results.map((result) => (result.ok ? 'ok' : result.reason))).toEqual([
      'IDEMPOTENCY_CONFLICT',
      'ok',
    ]);
  });
});

describe.each<StoreKind>(['embedded', 'redis'])('sendMany rate limits (%s store)', (kind) => {
  let relay: TestRelay;

  beforeAll(async () => {
    relay = await startTestRelay(kind, {
      RATE_SENDER_MESSAGES_PER_MINUTE: '2',
      RATE_REQUESTS_PER_SECOND: '1',
      RATE_REQUEST_BURST: '5',
    });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('counts each item against its own mailbox, the request as one call', async () => {
    const sender = agent('sender');
    const busy = agent('busy');
    const quiet = agent('quiet');
    for (const each of [busy, quiet]) await register(relay.url, relay.relayId, each);
    const client = rawClient(relay.url);
    for (let n = 0; n < 2; n++)
      await client.send.mutate({ to: busy.agentId, ciphertext: seal(sender, busy) });
    // Four of the five calls the burst allows are spent: 32 items pass as the fifth call.
    const strangers = Array.from({ length: 30 }, () => agent('stranger'));
    const { results } = await client.sendMany.mutate({
      items: [busy, quiet, ...strangers].map((to) => ({
        to: to.agentId,
        ciphertext: seal(sender, to),
      })),
    });
    expect(results[0]).toMatchObject({
      ok: false,
      code: 'TOO_MANY_REQUESTS',
      reason: 'RATE_LIMITED',
    });
    expect(results[1]).toMatchObject({ ok: true });
    expect(
      results.slice(2).every((result) => !result.ok && result.reason === 'AGENT_NOT_FOUND'),
    ).toBe(true);
    // The burst is spent now: the next call is refused whole.
    expect(
      await rejection(
        client.sendMany.mutate({ items: [{ to: quiet.agentId, ciphertext: seal(sender, quiet) }] }),
      ),
    ).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
  });
});

describe('sendMany while the store fails', () => {
  let relay: TestRelay;
  let dataDir: string;
  /** Recipients whose appends the store fails as unreachable. */
  const unreachable = new Set<string>();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-send-many-'));
    const real = await createMailboxStore({ dataDir, ...DEFAULT_LIMITS });
    // A plain object with every method of the real store, but appends for some mailboxes fail.
    const store: MailboxStore = {
      ...countStoreErrors(real, () => undefined),
      append: (input) =>
        unreachable.has(input.agentId)
          ? Promise.reject(new StoreUnavailableError('store unreachable (test)'))
          : real.append(input),
    };
    relay = await startTestRelay('embedded', {}, { store });
  });
  afterAll(async () => {
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers an item the store failed as SERVICE_UNAVAILABLE beside the stored ones', async () => {
    const sender = agent('sender');
    const [up, down] = [agent('up'), agent('down')];
    for (const each of [up, down]) await register(relay.url, relay.relayId, each);
    unreachable.add(down.agentId);
    const client = rawClient(relay.url);
    const { results } = await client.sendMany.mutate({
      items: [up, down].map((to) => ({ to: to.agentId, ciphertext: seal(sender, to) })),
    });
    expect(results[0]).toMatchObject({ to: up.agentId, ok: true });
    expect(results[1]).toEqual({
      to: down.agentId,
      ok: false,
      code: 'SERVICE_UNAVAILABLE',
      reason: 'STORE_UNAVAILABLE',
      message: 'the relay’s store is unavailable; retry shortly',
    });
  });

  it('is one 503 when the store failed every item, as a send would be', async () => {
    const sender = agent('sender');
    const downs = [agent('down'), agent('down')];
    for (const each of downs) {
      await register(relay.url, relay.relayId, each);
      unreachable.add(each.agentId);
    }
    const client = rawClient(relay.url);
    expect(
      await rejection(
        client.sendMany.mutate({
          items: downs.map((to) => ({ to: to.agentId, ciphertext: seal(sender, to) })),
        }),
      ),
    ).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, reason: 'STORE_UNAVAILABLE' });
  });
});
