// close() ends a client's live inboxes and pooled connections at once, so a script that is done
// exits at once; the client still works afterwards, on new connections.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { relayFault } from '@deaddrop/test-support/hostile-relay';
import {
  startHostileRelayAgents,
  type HostileRelayAgents,
} from '@deaddrop/test-support/hostile-relay-agents';

let hostile: HostileRelayAgents;
beforeAll(async () => {
  hostile = await startHostileRelayAgents();
});
afterAll(async () => {
  await hostile.close();
});

it('ends every live inbox and subscription of the client, and keeps working after', async () => {
  const client = await hostile.agent('closer');
  const ended: string[] = [];
  const reading = (async () => {
    for await (const entry of client.inbox()) expect(entry).toBeDefined();
    ended.push('inbox');
  })();
  const subscription = client.subscribe({ onMessage: () => undefined });
  await expect.poll(() => hostile.relay.openStreams).toBe(2);
  const closedAt = Date.now();
  client.close();
  await reading;
  await subscription.closed;
  expect(ended).toEqual(['inbox']);
  expect(Date.now() - closedAt).toBeLessThan(1_000);
  await expect.poll(() => hostile.relay.openStreams).toBe(0);
  await expect(client.stats()).resolves.toMatchObject({ agentId: 'closer' });
});

it('ends a send that is waiting to retry a relay that keeps failing, with the reason', async () => {
  const client = await hostile.agent('retrier');
  await hostile.agent('recipient');
  hostile.relay.misbehave('send', () => ({
    error: relayFault('STORE_UNAVAILABLE', 'down for now'),
  }));
  try {
    const sending = client.sendMessage({ to: 'recipient', message: 'hello' });
    const failure = sending.then(
      () => undefined,
      (error: unknown) => error,
    );
    await expect.poll(() => hostile.relay.callsTo('send').length).toBeGreaterThan(0);
    const closedAt = Date.now();
    client.close();
    expect(await failure).toMatchObject({
      reason: 'RELAY_UNREACHABLE',
      message: expect.stringContaining('the client was closed while sending') as unknown,
    });
    expect(Date.now() - closedAt).toBeLessThan(500);
  } finally {
    hostile.relay.behaveHonestly();
  }
});
