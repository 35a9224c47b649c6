// close() ends a client's live inboxes and pooled connections at once, so a script that is done
// exits at once; the client still works afterwards, on new connections.
import { afterAll, beforeAll, expect, it } from 'vitest';
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
