// Readers of one client (a live inbox and pollAndDecrypt, as the MCP server runs them) judge
// replays against one cache: a message one took is a replay to the other at once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import {
  startHostileRelayAgents,
  type HostileRelayAgents,
} from '@deaddrop/test-support/hostile-relay-agents';
import { sealedMessage } from '@deaddrop/test-support/hostile-envelopes';

let hostile: HostileRelayAgents;

beforeAll(async () => {
  hostile = await startHostileRelayAgents();
});
afterAll(async () => {
  await hostile.close();
});

const view = (entry: InboxEntry) =>
  isUnreadable(entry) ? { error: entry.error } : { uid: entry.uid, verified: entry.verified };

it('a message verified by pollAndDecrypt is not verified again by a running live inbox', async () => {
  const alice = await hostile.agent('alice');
  const bob = await hostile.agent('bob');
  const sealed = sealedMessage(alice.identity, bob.identity, 'pay 10 once');
  const now = Date.now();
  // The live stream stays quiet for a while, then serves the envelope under a new relay id.
  hostile.relay.misbehave('inbox', () => ({
    events: [
      { delayMs: 1_500 },
      {
        message: {
          id: `${now + 60_000}-0`,
          ciphertext: sealed.ciphertext,
          receivedAt: now,
          expiresAt: now + 86_400_000,
        },
      },
    ],
    then: 'hang',
  }));
  const controller = new AbortController();
  const live = bob.inbox({ signal: controller.signal });
  const first = live.next();
  await new Promise((resolve) => setTimeout(resolve, 500));

  // Meanwhile the relay serves the envelope to a poll on the same client.
  hostile.relay.deliver('bob', sealed.ciphertext);
  const polled = await bob.pollAndDecrypt();
  expect(polled.map(view)).toEqual([{ uid: sealed.uid, verified: true }]);

  const again = await first;
  controller.abort();
  await live.return(undefined);
  // Expected: a copy of a message already received.
  expect(view(again.value as InboxEntry)).toEqual({ error: 'replayed' });
}, 15_000);
