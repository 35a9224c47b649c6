// directory.rotate over real HTTP on both stores (PROTOCOL §10): a signed rotation replaces the key
// for lookups and mailbox proofs at once; forged, stale, replayed and racing ones are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveAgentKeys, generateSeed, signRotation, type AgentKeys } from '@deaddrop/contract';
import {
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  rejection,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

describe.each<StoreKind>(['embedded', 'redis'])('directory.rotate on %s', (kind) => {
  let relay: TestRelay;

  beforeAll(async () => {
    relay = await startTestRelay(kind);
  });
  afterAll(async () => {
    await relay.stop();
  });

  async function registered(label: string): Promise<TestAgent> {
    const agent = makeAgent(`${label}-${kind}`);
    await register(relay.url, relay.relayId, agent);
    return agent;
  }

  function rotation(
    agent: TestAgent,
    newKeys: AgentKeys,
    options: { oldKeys?: AgentKeys; relayId?: string; ts?: number } = {},
  ) {
    const step = signRotation({
      relayId: options.relayId ?? relay.relayId,
      agentId: agent.agentId,
      oldKeys: options.oldKeys ?? agent.keys,
      newKeys,
      ...(options.ts === undefined ? {} : { ts: options.ts }),
    });
    return {
      agentId: agent.agentId,
      newKey: step.newKey,
      ts: step.ts,
      sigOld: step.sigOld,
      sigNew: step.sigNew,
    };
  }

  it('replaces the key for lookups and mailbox proofs, and answers the history', async () => {
    const alice = await registered('alice');
    const client = rawClient(relay.url);
    // Cached by this relay process before the rotation: it must not answer the old key after.
    await mailboxClient(relay.url, relay.relayId, alice, 'stats').stats.query();
    expect((await client.directory.lookup.query({ agentId: alice.agentId })).rotations).toEqual([]);

    const next = { agentId: alice.agentId, keys: deriveAgentKeys(generateSeed()) };
    const input = rotation(alice, next.keys);
    const rotated = await client.directory.rotate.mutate(input);
    const step = {
      oldKey: alice.keys.agentKey,
      newKey: next.keys.agentKey,
      ts: input.ts,
      sigOld: input.sigOld,
      sigNew: input.sigNew,
    };
    expect(rotated).toMatchObject({ agentKey: next.keys.agentKey, rotations: [step] });
    expect(await client.directory.lookup.query({ agentId: alice.agentId })).toEqual(rotated);

    const stats = await mailboxClient(relay.url, relay.relayId, next, 'stats').stats.query();
    expect(stats.agentId).toBe(alice.agentId);
    expect(
      await rejection(mailboxClient(relay.url, relay.relayId, alice, 'stats').stats.query()),
    ).toMatchObject({ code: 'UNAUTHORIZED' });
    // Registering the old key again is another key for a taken id.
    expect(await rejection(register(relay.url, relay.relayId, alice))).toMatchObject({
      reason: 'AGENT_ID_TAKEN',
    });
    expect(await relay.services.metrics.scrape()).toMatch(
      /^deaddrop_key_rotations_total\{outcome="rotated"\} 1$/m,
    );
  });

  it('refuses a forged rotation: bad sigOld, bad sigNew, another relay’s id', async () => {
    const bob = await registered('bob');
    const mallory = deriveAgentKeys(generateSeed());
    const wanted = deriveAgentKeys(generateSeed());
    const client = rawClient(relay.url);
    const good = rotation(bob, wanted);
    const forgeries = [
      rotation(bob, wanted, { oldKeys: mallory }),
      { ...good, sigNew: rotation(bob, mallory).sigNew },
      rotation(bob, wanted, { relayId: 'relay-other' }),
    ];
    for (const forged of forgeries) {
      expect(await rejection(client.directory.rotate.mutate(forged))).toMatchObject({
        code: 'UNAUTHORIZED',
        reason: 'ROTATE_BAD_SIGNATURE',
      });
    }
    expect(await client.directory.lookup.query({ agentId: bob.agentId })).toMatchObject({
      agentKey: bob.keys.agentKey,
      rotations: [],
    });
  });

  it('refuses a stale statement, a replay, the same key and an unknown agent', async () => {
    const carol = await registered('carol');
    const client = rawClient(relay.url);
    const stale = rotation(carol, deriveAgentKeys(generateSeed()), { ts: Date.now() - 3_600_000 });
    expect(await rejection(client.directory.rotate.mutate(stale))).toMatchObject({
      reason: 'ROTATE_STALE',
    });
    expect(
      await rejection(client.directory.rotate.mutate(rotation(carol, carol.keys))),
    ).toMatchObject({ reason: 'WEAK_AGENT_KEY' });
    const second = deriveAgentKeys(generateSeed());
    const first = rotation(carol, second);
    await client.directory.rotate.mutate(first);
    // Replayed at once, it would rotate to the key the agent already has.
    expect(await rejection(client.directory.rotate.mutate(first))).toMatchObject({
      reason: 'WEAK_AGENT_KEY',
    });
    await client.directory.rotate.mutate(
      rotation(carol, deriveAgentKeys(generateSeed()), { oldKeys: second }),
    );
    // Replayed later within the window, sigOld is not by the key that is current now.
    expect(await rejection(client.directory.rotate.mutate(first))).toMatchObject({
      reason: 'ROTATE_BAD_SIGNATURE',
    });
    const ghost = makeAgent(`ghost-${kind}`);
    expect(
      await rejection(
        client.directory.rotate.mutate(rotation(ghost, deriveAgentKeys(generateSeed()))),
      ),
    ).toMatchObject({ reason: 'AGENT_NOT_FOUND' });
  });

  it('lets one of two racing rotations win; the other is refused', async () => {
    const dave = await registered('dave');
    const client = rawClient(relay.url);
    const candidates = [deriveAgentKeys(generateSeed()), deriveAgentKeys(generateSeed())];
    const results = await Promise.allSettled(
      candidates.map((keys) => client.directory.rotate.mutate(rotation(dave, keys))),
    );
    const won = results.filter((result) => result.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((result) => result.status === 'rejected');
    expect(lost).toBeDefined();
    const record = await client.directory.lookup.query({ agentId: dave.agentId });
    expect(record.rotations).toHaveLength(1);
    expect(candidates.map((keys) => keys.agentKey)).toContain(record.agentKey);
  });
});
