// The MCP server, over stdio with the official client, against a hostile relay and a hostile sender
// (issue 12): a jamming message is reported as unreadable while the others are delivered, bad relay
// answers and silent relays are tool errors the model can read — never "internal error" — and the
// tools work again once the relay behaves.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient, createIdentity, loadIdentity } from '@deaddrop/client';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import {
  innerWithBody,
  nestedArrays,
  sealedInner,
  sealedMessage,
} from '@deaddrop/test-support/hostile-envelopes';
import {
  callTool,
  connectStdio,
  removeHome,
  tempHome,
  textOf,
  type StdioAgent,
} from './mcp-harness.js';

let relay: HostileRelay;
let bobHome: string;
let aliceHome: string;
let bob: StdioAgent;
let alice: DeadDropClient;

interface ReceivedView {
  readonly message_id: string;
  readonly from_agent: string | null;
  readonly message: string | null;
  readonly verified: boolean;
  readonly problem?: string;
}

async function bobIdentity() {
  return loadIdentity('bob', { home: bobHome });
}

beforeAll(async () => {
  [relay, bobHome, aliceHome] = await Promise.all([
    startHostileRelay({ limits: { maxWaitMs: 1_000 } }),
    tempHome(),
    tempHome(),
  ]);
  bob = await connectStdio({
    agentId: 'bob',
    relayUrl: relay.url,
    home: bobHome,
    extra: { DEADDROP_REQUEST_TIMEOUT: '1s' },
  });
  alice = new DeadDropClient({
    identity: await createIdentity('alice', { home: aliceHome, relayUrl: relay.url }),
  });
  await alice.register();
  // The server registers bob before its first tool call.
  await callTool(bob.client, 'get_public_key', {});
}, 60_000);

afterAll(async () => {
  await bob.close();
  await relay.close();
  await Promise.all([removeHome(bobHome), removeHome(aliceHome)]);
});

afterEach(async () => {
  relay.behaveHonestly();
  await callTool(bob.client, 'receive_messages', { limit: 100 });
});

describe('deaddrop-mcp against hostile senders and a hostile relay', () => {
  it('reports a message nesting 2,000 arrays as unreadable and delivers the rest', async () => {
    const identity = await bobIdentity();
    relay.deliver('bob', sealedMessage(alice.identity, identity, 'before').ciphertext);
    relay.deliver(
      'bob',
      sealedInner(
        alice.identity,
        identity,
        innerWithBody(alice.identity, identity, nestedArrays(2_000)),
      ),
    );
    relay.deliver('bob', sealedMessage(alice.identity, identity, 'after').ciphertext);

    const result = await callTool(bob.client, 'receive_messages', {});
    expect(result.isError).not.toBe(true);
    const { messages } = result.structuredContent as { messages: ReceivedView[] };
    expect(messages.map((message) => [message.message, message.verified])).toEqual([
      ['before', true],
      [null, false],
      ['after', true],
    ]);
    expect(messages[1]?.problem).toBe('malformed message inside the envelope');
    expect(textOf(await callTool(bob.client, 'receive_messages', {}))).toBe('No new messages.');
  });

  it('waits past an unreadable message for the one it was asked for', async () => {
    const identity = await bobIdentity();
    relay.deliver(
      'bob',
      sealedInner(
        alice.identity,
        identity,
        innerWithBody(alice.identity, identity, nestedArrays(5_000)),
      ),
    );
    relay.deliver('bob', sealedMessage(alice.identity, identity, 'the one').ciphertext);
    const result = await callTool(bob.client, 'wait_for_message', {
      from_agent: 'alice',
      timeout_seconds: 2,
    });
    expect(result.isError).not.toBe(true);
    expect(result.structuredContent).toMatchObject({
      timed_out: false,
      message: { from_agent: 'alice', message: 'the one', verified: true },
    });
  });

  it('answers a bad relay answer with a tool error the model can read, then recovers', async () => {
    relay.deliver('bob', sealedMessage(alice.identity, await bobIdentity(), 'later').ciphertext);
    relay.misbehave('poll', async (call) => {
      const honest = await call.honest();
      return 'data' in honest
        ? { data: { ...honest.data, cursor: 'not-a-message-id/../../x' } }
        : honest;
    });
    for (const [tool, args] of [
      ['receive_messages', {}],
      ['wait_for_message', { timeout_seconds: 1 }],
    ] as const) {
      const refused = await callTool(bob.client, tool, args);
      expect(refused.isError, tool).toBe(true);
      expect(textOf(refused), tool).toContain('RELAY_INVALID_RESPONSE');
      expect(textOf(refused), tool).not.toContain('internal error');
    }
    relay.behaveHonestly();
    const result = await callTool(bob.client, 'receive_messages', {});
    expect((result.structuredContent as { messages: ReceivedView[] }).messages).toMatchObject([
      { message: 'later', verified: true },
    ]);
  });

  it('gives up on a relay that never answers, with a tool error', async () => {
    relay.misbehave('poll', () => ({ hang: true }));
    const started = Date.now();
    const refused = await callTool(bob.client, 'receive_messages', {});
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('RELAY_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
    relay.misbehave('stats', () => ({ data: { agentId: 'bob', count: 'many' } }));
    const stats = await callTool(bob.client, 'get_mailbox_stats', {});
    expect(stats.isError).toBe(true);
    expect(textOf(stats)).toContain('RELAY_INVALID_RESPONSE');
  });
});
