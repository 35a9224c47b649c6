// The MCP server, over stdio with the official client, against the misbehaviours of a lying relay
// that the SDK is held to in client/test/hostile-relay-sdk.test.ts (issue 12): cursors that go
// backwards, mail served again or out of order, replays under changing TTL claims, a swapped
// directory key, huge and malformed events on the live inbox, answers that never come or never end.
// Whatever the relay does, each tool call returns within a bound measured here, as a result the
// model can read (never the server's "internal error"), shows no replay or forgery as verified, and
// the next honest call works: the server's cursor, pins and queue were not corrupted on the way.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import {
  DeadDropClient,
  createIdentity,
  loadIdentity,
  problemDescriptions,
  type Identity,
} from '@deaddrop/client';
import { MCP_INBOX_RESOURCE } from '@deaddrop/contract';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import { sealedMessage } from '@deaddrop/test-support/hostile-envelopes';
import {
  callTool,
  connectStdio,
  removeHome,
  tempHome,
  textOf,
  type StdioAgent,
} from './mcp-harness.js';

const MIN = 60_000;
/** DEADDROP_REQUEST_TIMEOUT of every MCP server here: the deadline of each relay call. */
const REQUEST_TIMEOUT_MS = 1_000;
/** The relay's longest long-poll, so a wait_for_message spans a few polls at most. */
const RELAY_MAX_WAIT_MS = 1_000;
/** Room for a loaded two-core machine on top of any deadline (stdio, tsx, the relay's own work). */
const SLACK_MS = 3_000;
const DAY_S = 86_400;
const TEN_YEARS_S = 10 * 365 * DAY_S;
/** The server's catch-all for a failure it did not understand: never acceptable here. */
const INTERNAL_ERROR = /internal error/i;

let relay: HostileRelay;
const homes: string[] = [];
let bob: StdioAgent;
let bobIdentity: Identity;
let alice: DeadDropClient;

interface ReceivedView {
  readonly message_id: string;
  readonly from_agent: string | null;
  readonly message: string | null;
  readonly verified: boolean;
  readonly problem?: string;
}

interface TimedCall {
  readonly result: CallToolResult;
  readonly text: string;
  readonly elapsedMs: number;
}

async function newHome(): Promise<string> {
  const home = await tempHome();
  homes.push(home);
  return home;
}

/** A deaddrop-mcp process acting as `agentId`, registered on the relay before it returns. */
async function startMcpAgent(agentId: string, home: string): Promise<StdioAgent> {
  const agent = await connectStdio({
    agentId,
    relayUrl: relay.url,
    home,
    extra: { DEADDROP_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms` },
  });
  // Registration and the relay's info (its TTL claim included) come with the first tool call.
  const key = await callTool(agent.client, 'get_public_key', {});
  expect(key.isError, textOf(key)).not.toBe(true);
  return agent;
}

async function timedCall(
  agent: StdioAgent,
  name: string,
  args: Record<string, unknown> = {},
): Promise<TimedCall> {
  const started = Date.now();
  const result = await callTool(agent.client, name, args);
  return { result, text: textOf(result), elapsedMs: Date.now() - started };
}

/** A tool error the model can act on: isError, naming `reason` and `detail`, within `boundMs`. */
function expectReadableError(
  call: TimedCall,
  reason: string,
  detail: string | RegExp,
  boundMs: number,
): void {
  expect(call.result.isError, call.text).toBe(true);
  expect(call.text).not.toMatch(INTERNAL_ERROR);
  expect(call.text).toContain(reason);
  expect(call.text).toMatch(detail);
  expect(call.elapsedMs, call.text).toBeLessThan(boundMs);
}

function messagesOf(call: TimedCall): ReceivedView[] {
  expect(call.result.isError, call.text).not.toBe(true);
  expect(call.text).not.toMatch(INTERNAL_ERROR);
  return (call.result.structuredContent as { messages: ReceivedView[] }).messages;
}

function deliverFromAlice(to: Identity, body: string, sentAt?: number) {
  const sealed = sealedMessage(alice.identity, to, body, sentAt);
  return { ...sealed, stored: relay.deliver(to.agentId, sealed.ciphertext) };
}

/** The relay honest again, an honest message from alice reaches `agent` and is shown verified. */
async function expectHonestMail(agent: StdioAgent, agentId: string, body: string): Promise<void> {
  relay.behaveHonestly();
  await alice.sendMessage({ to: agentId, message: body });
  const received = messagesOf(await timedCall(agent, 'receive_messages', { limit: 100 }));
  expect(received).toContainEqual(
    expect.objectContaining({ from_agent: 'alice', message: body, verified: true }),
  );
}

/** The messages deaddrop://inbox lists, read within `boundMs`. */
async function readInbox(boundMs: number): Promise<ReceivedView[]> {
  const started = Date.now();
  const resource = await bob.client.readResource({ uri: MCP_INBOX_RESOURCE });
  expect(Date.now() - started).toBeLessThan(boundMs);
  const [first] = resource.contents;
  const text = first !== undefined && 'text' in first ? first.text : '{}';
  return (JSON.parse(text) as { messages: ReceivedView[] }).messages;
}

/** Resolves once bob's server has logged that its live feed stopped for `why` (and restarts). */
async function feedStopped(why: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const stopped = (): boolean =>
    bob
      .stderr()
      .split('\n')
      .some((line) => line.includes('inbox feed stopped') && line.includes(why));
  while (!stopped()) {
    if (Date.now() > deadline)
      throw new Error(`the live feed did not stop for "${why}":\n${bob.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Subscribes bob's client to deaddrop://inbox; `updates()` counts the notifications since. */
async function subscribeToInbox(): Promise<{ updates: () => number }> {
  let updates = 0;
  bob.client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => {
    updates++;
  });
  await bob.client.subscribeResource({ uri: MCP_INBOX_RESOURCE });
  return { updates: () => updates };
}

beforeAll(async () => {
  relay = await startHostileRelay({ limits: { maxWaitMs: RELAY_MAX_WAIT_MS } });
  const [bobHome, aliceHome] = await Promise.all([newHome(), newHome()]);
  alice = new DeadDropClient({
    identity: await createIdentity('alice', { home: aliceHome, relayUrl: relay.url }),
  });
  await alice.register();
  bob = await startMcpAgent('bob', bobHome);
  bobIdentity = await loadIdentity('bob', { home: bobHome });
}, 60_000);

afterAll(async () => {
  await bob.close();
  await relay.close();
  await Promise.all(homes.map(removeHome));
});

afterEach(async () => {
  relay.behaveHonestly();
  relay.setLimits({ ttlSeconds: DAY_S });
  await callTool(bob.client, 'receive_messages', { limit: 100 });
});

describe('deaddrop-mcp against a relay that lies', () => {
  it('refuses a cursor that goes backwards and never shows mail served again as new', async () => {
    const one = deliverFromAlice(bobIdentity, 'one');
    expect(messagesOf(await timedCall(bob, 'receive_messages'))).toMatchObject([
      { message: 'one', verified: true },
    ]);
    const two = deliverFromAlice(bobIdentity, 'two').stored;
    for (const [data, detail] of [
      // The message at the cursor again, then the next one.
      [{ messages: [one.stored, two], cursor: two.id }, `holds message ${one.stored.id}`],
      // Back to the start of the mailbox.
      [{ messages: [], cursor: '0-0' }, 'moves the cursor to 0-0'],
    ] as const) {
      relay.misbehave('poll', () => ({ data }));
      for (const [tool, args] of [
        ['receive_messages', {}],
        ['wait_for_message', { timeout_seconds: 1 }],
      ] as const) {
        expectReadableError(
          await timedCall(bob, tool, args),
          'RELAY_INVALID_RESPONSE',
          detail,
          REQUEST_TIMEOUT_MS + SLACK_MS,
        );
      }
    }

    // Honest about ids, but the same ciphertext stored again: a copy, not new mail.
    relay.behaveHonestly();
    relay.deliver('bob', one.ciphertext);
    expect(messagesOf(await timedCall(bob, 'receive_messages'))).toMatchObject([
      { message: 'two', verified: true },
    ]);
    relay.deliver('bob', one.ciphertext);
    const copies = await timedCall(bob, 'wait_for_message', { timeout_seconds: 0.5 });
    expect(copies.result.structuredContent, copies.text).toEqual({
      message: null,
      timed_out: true,
    });
    expect(messagesOf(await timedCall(bob, 'receive_messages'))).toEqual([]);
    await expectHonestMail(bob, 'bob', 'after the backward cursor');
  });

  it('refuses messages out of order or repeated, then reads them once the relay is honest', async () => {
    const two = deliverFromAlice(bobIdentity, 'two').stored;
    const three = deliverFromAlice(bobIdentity, 'three').stored;
    for (const data of [
      { messages: [three, two], cursor: two.id },
      { messages: [two, two], cursor: two.id },
    ]) {
      relay.misbehave('poll', () => ({ data }));
      for (const [tool, args] of [
        ['receive_messages', {}],
        ['wait_for_message', { from_agent: 'alice', timeout_seconds: 1 }],
      ] as const) {
        expectReadableError(
          await timedCall(bob, tool, args),
          'RELAY_INVALID_RESPONSE',
          'out of order or repeated',
          REQUEST_TIMEOUT_MS + SLACK_MS,
        );
      }
      // The resource reads the same poll: a protocol error naming the problem, not a crash.
      const started = Date.now();
      const refused = await bob.client.readResource({ uri: MCP_INBOX_RESOURCE }).then(
        () => 'read',
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      expect(Date.now() - started).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
      expect(refused).toContain('out of order or repeated');
      expect(refused).not.toMatch(INTERNAL_ERROR);
    }

    relay.behaveHonestly();
    expect(await readInbox(REQUEST_TIMEOUT_MS + SLACK_MS)).toMatchObject([
      { message: 'two', verified: true },
      { message: 'three', verified: true },
    ]);
    expect(messagesOf(await timedCall(bob, 'receive_messages'))).toMatchObject([
      { message: 'two', verified: true },
      { message: 'three', verified: true },
    ]);
    await expectHonestMail(bob, 'bob', 'after the reordering');
  });

  it('shows no replay as verified when the relay claims a 1 s TTL, then ten years', async () => {
    const home = await newHome();
    relay.setLimits({ ttlSeconds: 1 });
    const firstRun = await startMcpAgent('carol', home);
    const carol = await loadIdentity('carol', { home });
    // Kept by the relay whatever its TTL claim: the test decides when mail goes.
    const kept = { expiresAt: Date.now() + 10 * MIN };
    // Within the 1 s window and its 5 min skew: verified, and its id remembered.
    const recent = sealedMessage(alice.identity, carol, 'pay 10 once', Date.now() - 4 * MIN);
    // Past the window: shown unverified, and its id forgotten at once (the window is 1 s), so
    // only the "forgotten through" date in carol's state can tell a later copy from new mail.
    const oldSentAt = Date.now() - 11 * MIN;
    const old = sealedMessage(alice.identity, carol, 'pay 20 once', oldSentAt);
    try {
      relay.deliver('carol', recent.ciphertext, kept);
      relay.deliver('carol', old.ciphertext, kept);
      expect(messagesOf(await timedCall(firstRun, 'receive_messages'))).toMatchObject([
        { message: 'pay 10 once', verified: true },
        { message: 'pay 20 once', verified: false, problem: problemDescriptions.stale },
      ]);
    } finally {
      await firstRun.close();
    }
    // What makes the second run meaningful: one id still remembered, the other forgotten.
    const state = JSON.parse(await readFile(join(home, 'agents', 'carol.state.json'), 'utf8')) as {
      seen: Record<string, number>;
      forgottenThrough: number;
    };
    expect(Object.keys(state.seen)).toEqual([recent.uid]);
    expect(state.forgottenThrough).toBeGreaterThanOrEqual(oldSentAt);

    // The next run believes the relay's ten years (capped at 7 days): both would be fresh now.
    relay.setLimits({ ttlSeconds: TEN_YEARS_S });
    const secondRun = await startMcpAgent('carol', home);
    try {
      relay.deliver('carol', recent.ciphertext);
      relay.deliver('carol', old.ciphertext);
      const replayed = await timedCall(secondRun, 'receive_messages', { limit: 100 });
      expect(replayed.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
      const shown = messagesOf(replayed);
      expect(shown.filter((message) => message.verified)).toEqual([]);
      // The remembered copy is dropped; the forgotten one is stale, whatever the TTL claim says.
      expect(shown).toMatchObject([
        { message: 'pay 20 once', verified: false, problem: problemDescriptions.stale },
      ]);
      await expectHonestMail(secondRun, 'carol', 'a fresh one');
    } finally {
      await secondRun.close();
    }
  }, 40_000);

  it('refuses to send to a swapped key and shows mail signed by it as not verified', async () => {
    const pinned = await timedCall(bob, 'send_message', {
      to_agent: 'alice',
      message: 'pins alice',
    });
    expect(pinned.result.isError, pinned.text).not.toBe(true);
    const mallory = await createIdentity('mallory', { home: await newHome(), relayUrl: relay.url });
    relay.registerAgent('alice', mallory.agentKey);
    try {
      const refused = await timedCall(bob, 'send_message', { to_agent: 'alice', message: 'x' });
      expectReadableError(
        refused,
        'KEY_CHANGED',
        'Do not trust the new key blindly',
        REQUEST_TIMEOUT_MS + SLACK_MS,
      );
      const lookup = await timedCall(bob, 'lookup_agent', { agent_id: 'alice' });
      expect(lookup.result.isError, lookup.text).not.toBe(true);
      expect(lookup.result.structuredContent).toMatchObject({
        agent_id: 'alice',
        public_key: mallory.agentKey,
        pin_status: 'differs',
      });

      relay.deliver(
        'bob',
        sealedMessage({ ...mallory, agentId: 'alice' }, bobIdentity, 'I am alice').ciphertext,
      );
      deliverFromAlice(bobIdentity, 'really alice');
      expect(messagesOf(await timedCall(bob, 'receive_messages'))).toMatchObject([
        {
          from_agent: 'alice',
          message: 'I am alice',
          verified: false,
          problem: problemDescriptions['key-mismatch'],
        },
        { from_agent: 'alice', message: 'really alice', verified: true },
      ]);

      // A directory answer about another agent than the one asked for.
      relay.misbehave('directory.lookup', () => ({
        data: { agentId: 'mallory', agentKey: mallory.agentKey, registeredAt: 1 },
      }));
      expectReadableError(
        await timedCall(bob, 'lookup_agent', { agent_id: 'alice' }),
        'RELAY_INVALID_RESPONSE',
        'mallory',
        REQUEST_TIMEOUT_MS + SLACK_MS,
      );
    } finally {
      relay.registerAgent('alice', alice.agentKey);
    }
    await expectHonestMail(bob, 'bob', 'after the swap');
    const sent = await timedCall(bob, 'send_message', { to_agent: 'alice', message: 'back' });
    expect(sent.result.isError, sent.text).not.toBe(true);
  });

  it('answers wait_for_message in time while the live inbox gets a huge or malformed event', async () => {
    // A 2.6 MB event that never ends: past any bound the SDK holds an event to.
    relay.misbehave('inbox', () => ({
      events: [{ raw: 'data: {"json":"' }, { repeat: 'x'.repeat(65_536), times: 40 }],
      then: 'hang',
    }));
    const streamsBefore = relay.callsTo('inbox').length;
    await subscribeToInbox();
    try {
      await feedStopped('its live inbox sent an event of more than', 10_000);
      expect(relay.callsTo('inbox').length).toBeGreaterThan(streamsBefore);
      const waiting = timedCall(bob, 'wait_for_message', {
        from_agent: 'alice',
        timeout_seconds: 3,
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await alice.sendMessage({ to: 'bob', message: 'despite the huge event' });
      const waited = await waiting;
      expect(waited.text).not.toMatch(INTERNAL_ERROR);
      expect(waited.elapsedMs).toBeLessThan(3_000 + SLACK_MS);
      expect(waited.result.structuredContent, waited.text).toMatchObject({
        timed_out: false,
        message: { from_agent: 'alice', message: 'despite the huge event', verified: true },
      });
    } finally {
      await bob.client.unsubscribeResource({ uri: MCP_INBOX_RESOURCE });
    }

    // A stream that passes on one good message, then one whose ciphertext is a number.
    const first = deliverFromAlice(bobIdentity, 'first, live').stored;
    relay.misbehave('inbox', () => ({
      events: [
        { message: first },
        {
          message: { id: `${Date.now() + MIN}-0`, ciphertext: 12345, receivedAt: 1, expiresAt: 2 },
        },
      ],
      then: 'hang',
    }));
    const live = await subscribeToInbox();
    try {
      await feedStopped('its live inbox sent a malformed message', 10_000);
      expect(live.updates()).toBeGreaterThan(0);
      const waited = await timedCall(bob, 'wait_for_message', {
        from_agent: 'alice',
        timeout_seconds: 3,
      });
      expect(waited.text).not.toMatch(INTERNAL_ERROR);
      expect(waited.elapsedMs).toBeLessThan(3_000 + SLACK_MS);
      expect(waited.result.structuredContent, waited.text).toMatchObject({
        timed_out: false,
        message: { from_agent: 'alice', message: 'first, live', verified: true },
      });
    } finally {
      await bob.client.unsubscribeResource({ uri: MCP_INBOX_RESOURCE });
    }

    // Honest again, the live path itself works: a new subscription hears of new mail.
    relay.behaveHonestly();
    const honest = await subscribeToInbox();
    try {
      await alice.sendMessage({ to: 'bob', message: 'live again' });
      const deadline = Date.now() + 5_000;
      while (honest.updates() === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(honest.updates()).toBeGreaterThan(0);
      expect(await readInbox(REQUEST_TIMEOUT_MS + SLACK_MS)).toMatchObject([
        { from_agent: 'alice', message: 'live again', verified: true },
      ]);
    } finally {
      await bob.client.unsubscribeResource({ uri: MCP_INBOX_RESOURCE });
    }
    await expectHonestMail(bob, 'bob', 'after the live storm');
  }, 40_000);

  it('gives up on answers that never come or never end within the request timeout', async () => {
    for (const answer of [{ hang: true } as const, { trickle: { intervalMs: 100 } } as const]) {
      relay.misbehave('poll', () => answer);
      expectReadableError(
        await timedCall(bob, 'receive_messages'),
        'RELAY_UNREACHABLE',
        'try again later',
        REQUEST_TIMEOUT_MS + SLACK_MS,
      );
      // A long-poll's deadline is its wait plus the request timeout.
      const waited = await timedCall(bob, 'wait_for_message', { timeout_seconds: 0.5 });
      expectReadableError(
        waited,
        'RELAY_UNREACHABLE',
        'try again later',
        500 + REQUEST_TIMEOUT_MS + SLACK_MS,
      );
      relay.misbehave('stats', () => answer);
      relay.misbehave('directory.lookup', () => answer);
      const [stats, lookup] = await Promise.all([
        timedCall(bob, 'get_mailbox_stats'),
        timedCall(bob, 'lookup_agent', { agent_id: 'alice' }),
      ]);
      for (const refused of [stats, lookup])
        expectReadableError(
          refused,
          'RELAY_UNREACHABLE',
          'try again later',
          REQUEST_TIMEOUT_MS + SLACK_MS,
        );
    }
    await expectHonestMail(bob, 'bob', 'after the silence');
    const stats = await timedCall(bob, 'get_mailbox_stats');
    expect(stats.result.structuredContent, stats.text).toMatchObject({ agent_id: 'bob' });
  });
});
