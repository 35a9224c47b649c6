// A message dated ahead of the clock, shown stale, is still caught as a replay when a copy comes
// once its date has arrived.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import { createIdentity, loadIdentity } from '../src/keystore.js';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import { startHostileRelay, type HostileRelay } from '../../scripts/test-support/hostile-relay.js';
import { sealedMessage } from '../../scripts/test-support/hostile-envelopes.js';

const MIN = 60_000;
const DAY = 86_400_000;
let relay: HostileRelay;
let scratch: string;
beforeAll(async () => {
  relay = await startHostileRelay();
  scratch = await mkdtemp(join(tmpdir(), 'deaddrop-review-future-'));
});
afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

const view = (e: InboxEntry) =>
  isUnreadable(e) ? { error: e.error } : { body: e.body, verified: e.verified };

it('an envelope already received is never shown verified on a later copy', async () => {
  let now = Date.now();
  const clock = () => now;
  const alice = new DeadDropClient({
    identity: await createIdentity('alice', { home: join(scratch, 'alice'), relayUrl: relay.url }),
  });
  await alice.register();
  const bobHome = join(scratch, 'bob');
  const bob = new DeadDropClient({
    identity: await createIdentity('bob', { home: bobHome, relayUrl: relay.url }),
    now: clock,
  });
  await bob.register();
  const bobId = await loadIdentity('bob', { home: bobHome });

  // Dated a day and 10 minutes ahead (a sender's clock, or on purpose): shown once, as stale.
  const sealed = sealedMessage(alice.identity, bobId, 'pay 10 once', now + DAY + 10 * MIN);
  relay.deliver('bob', sealed.ciphertext);
  expect((await bob.pollAndDecrypt()).map(view)).toEqual([
    { body: 'pay 10 once', verified: false },
  ]);

  // A day and 16 minutes later another message arrives (the save prunes the capped entry)...
  now += DAY + 16 * MIN;
  relay.deliver('bob', sealedMessage(alice.identity, bobId, 'later', now).ciphertext);
  await bob.pollAndDecrypt();
  // ...and the relay serves the first envelope again.
  relay.deliver('bob', sealed.ciphertext);
  expect((await bob.pollAndDecrypt()).map(view)).toEqual([{ error: 'replayed' }]);
});
