// A message dated ahead of the clock, shown stale, is still caught as a replay when a copy comes
// once its date has arrived.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import {
  startHostileRelayAgents,
  type HostileRelayAgents,
} from '@deaddrop/test-support/hostile-relay-agents';
import { sealedMessage } from '@deaddrop/test-support/hostile-envelopes';

const MIN = 60_000;
const DAY = 86_400_000;
let hostile: HostileRelayAgents;
beforeAll(async () => {
  hostile = await startHostileRelayAgents();
});
afterAll(async () => {
  await hostile.close();
});

const view = (e: InboxEntry) =>
  isUnreadable(e) ? { error: e.error } : { body: e.body, verified: e.verified };

it('an envelope already received is never shown verified on a later copy', async () => {
  let now = Date.now();
  const clock = () => now;
  const alice = await hostile.agent('alice');
  const bob = await hostile.agent('bob', { now: clock });
  const bobId = bob.identity;
  const { relay } = hostile;

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
