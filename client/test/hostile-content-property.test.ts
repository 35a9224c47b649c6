// Property: whatever a sender seals and signs — any inner document (any JSON, any depth, any size
// up to the limit, wrong field types, unknown fields) or any bytes — the SDK opens the mailbox
// without throwing, reports that one message as what it is, delivers the messages around it, and
// moves its cursor past it: the mailbox always stays readable, by poll and live.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, toB64u } from '@deaddrop/contract';
import { DeadDropClient } from '../src/client.js';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import {
  innerWithBody,
  nestedArrays,
  sealedInner,
  sealedMessage,
} from '@deaddrop/test-support/hostile-envelopes';

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-hostile-content-')),
  ]);
  const open = async (agentId: string) =>
    new DeadDropClient({
      identity: await createIdentity(agentId, {
        home: join(scratch, agentId),
        relayUrl: relay.url,
      }),
    });
  [alice, bob] = await Promise.all([open('alice'), open('bob')]);
  await Promise.all([alice.register(), bob.register()]);
});

afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A value of any JSON type, or of the wrong type, for a known inner field. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 100 }),
  fc.integer(),
  fc.double(),
  fc.constant(null),
);

/** Inner documents a hostile sender could sign, as text or bytes. */
function hostileInners(): fc.Arbitrary<string | Uint8Array> {
  const fields = fc.record(
    {
      v: fc.oneof(fc.constant(1), anyValue),
      id: fc.oneof(fc.constant(toB64u(randomBytes(16))), anyValue),
      kind: fc.oneof(fc.constantFrom('message', 'receipt', 'typing'), anyValue),
      from: fc.oneof(fc.constant('alice'), anyValue),
      fromKey: fc.oneof(fc.constant(alice.agentKey), anyValue),
      to: fc.oneof(fc.constant('bob'), anyValue),
      sentAt: fc.oneof(fc.constant(Date.now()), anyValue),
      body: anyValue,
      replyTo: anyValue,
      unknown: anyValue,
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    fields.map((record) => JSON.stringify(record)),
    fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)),
    fc
      .integer({ min: 0, max: 100_000 })
      .map((depth) => innerWithBody(alice.identity, bob.identity, nestedArrays(depth))),
    fc
      .integer({ min: 0, max: 700_000 })
      .map((size) => innerWithBody(alice.identity, bob.identity, JSON.stringify('x'.repeat(size)))),
    fc.uint8Array({ maxLength: 2_048 }),
    fc.string({ maxLength: 300 }),
  );
}

function outcome(entry: InboxEntry | undefined): unknown {
  if (entry === undefined) return 'missing';
  return isUnreadable(entry) ? entry.error : { verified: entry.verified, body: entry.body };
}

describe('any signed inner, between two honest messages', () => {
  it('never throws, never hides a neighbour, and always moves the cursor past it', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(hostileInners(), async (inner) => {
        round++;
        const ids = [
          sealedMessage(alice.identity, bob.identity, `before ${round}`).ciphertext,
          sealedInner(alice.identity, bob.identity, inner),
          sealedMessage(alice.identity, bob.identity, `after ${round}`).ciphertext,
        ].map((ciphertext) => relay.deliver('bob', ciphertext).id);

        const entries = await bob.pollAndDecrypt();
        expect(entries.map((entry) => entry.id)).toEqual(ids);
        expect(outcome(entries[0])).toEqual({ verified: true, body: `before ${round}` });
        expect(outcome(entries[2])).toEqual({ verified: true, body: `after ${round}` });
        expect(await bob.pollAndDecrypt()).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps the live inbox reading too', async () => {
    const inners = fc.sample(hostileInners(), 25);
    const ids = inners.flatMap((inner, index) =>
      [
        sealedInner(alice.identity, bob.identity, inner),
        sealedMessage(alice.identity, bob.identity, `live ${index}`).ciphertext,
      ].map((ciphertext) => relay.deliver('bob', ciphertext).id),
    );
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
    }, 10_000);
    const entries: InboxEntry[] = [];
    for await (const entry of bob.inbox({ signal: controller.signal })) {
      entries.push(entry);
      if (entries.length === ids.length) break;
    }
    clearTimeout(timer);
    expect(entries.map((entry) => entry.id)).toEqual(ids);
    const honest = entries.filter((_, index) => index % 2 === 1).map(outcome);
    expect(honest).toEqual(inners.map((_, index) => ({ verified: true, body: `live ${index}` })));
  });
});
