// The MCP server after its relay lost its store (a redis-server of the test's own, restarted
// without persistence, while the relay keeps running): its SDK client registers the agent again on
// the next mailbox call and the tools keep working (PROTOCOL §10 "Re-registration").
// @module-tag slow (restarts its redis-server): npm test only, not npm run test:fast
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient, createIdentity, isDeadDropError } from '@deaddrop/client';
import { startRedisServer, type RedisServerProcess } from '@deaddrop/test-support/redis-server';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import {
  callTool,
  connectStdio,
  removeHome,
  tempHome,
  textOf,
  type StdioAgent,
} from './mcp-harness.js';

/** The message bodies of a `receive_messages` result. */
function messagesOf(result: {
  structuredContent?: Record<string, unknown> | undefined;
}): unknown[] {
  const messages = result.structuredContent?.messages;
  return Array.isArray(messages)
    ? messages.map((entry: unknown) =>
        typeof entry === 'object' && entry !== null && 'message' in entry ? entry.message : entry,
      )
    : [];
}

describe('deaddrop-mcp after the relay lost its store', () => {
  let redis: RedisServerProcess;
  let relay: SpawnedRelay;
  const homes: string[] = [];
  let bob: StdioAgent;
  let carol: DeadDropClient;

  beforeAll(async () => {
    redis = await startRedisServer({ persistence: false });
    relay = await spawnRelay({ REDIS_URL: redis.url });
    const [bobHome, carolHome] = await Promise.all([tempHome(), tempHome()]);
    homes.push(bobHome, carolHome);
    bob = await connectStdio({ agentId: 'bob', relayUrl: relay.url, home: bobHome });
    carol = new DeadDropClient({
      identity: await createIdentity('carol', { home: carolHome, relayUrl: relay.url }),
    });
    await carol.register();
    await callTool(bob.client, 'get_public_key');
  }, 60_000);

  afterAll(async () => {
    carol.close();
    await bob.close();
    await relay.stop();
    await redis.stop();
    await Promise.all(homes.map(removeHome));
  });

  it('registers again and receives', { timeout: 60_000 }, async () => {
    await carol.sendMessage({ to: 'bob', message: 'before' });
    const before = await callTool(bob.client, 'receive_messages', { timeout_seconds: 5 });
    expect(messagesOf(before)).toEqual(['before']);

    await redis.restart();
    // Until the relay answers from the new, empty Redis.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = await carol.lookup('bob').then(
        () => true,
        (error: unknown) => !isDeadDropError(error, 'AGENT_NOT_FOUND'),
      );
      if (!found) break;
      if (Date.now() > deadline) throw new Error('the relay still finds bob');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const empty = await callTool(bob.client, 'receive_messages', { timeout_seconds: 1 });
    expect(empty.isError, textOf(empty)).toBeUndefined();
    expect(messagesOf(empty)).toEqual([]);
    await expect(carol.lookup('bob')).resolves.toMatchObject({ agentId: 'bob' });
    expect(bob.stderr()).toContain('registered the identity again');

    await carol.sendMessage({ to: 'bob', message: 'after the loss' });
    const after = await callTool(bob.client, 'receive_messages', { timeout_seconds: 5 });
    expect(after.isError, textOf(after)).toBeUndefined();
    expect(messagesOf(after)).toEqual(['after the loss']);
  });
});
