// One-time prekeys through the relay (PROTOCOL §10), on both stores: publishing checks each prekey
// against the directory key (signature, weak key, duplicates, the 200 cap with how many fit), and
// a rotation landing between that check and the store leaves no prekey the new key did not sign;
// claiming hands each out once, oldest first, limited per address and mailbox with the outcome in
// the metrics; stats.prekeys falls by one per claim; send stores v2 envelopes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  deriveAgentKeys,
  formatAgentKey,
  generatePrekey,
  generateSeed,
  openMessageV2,
  parseAgentKey,
  sealMessageV2,
  signPrekey,
  signRotation,
  toB64u,
  verifyPrekey,
  type AgentKeys,
  type Prekey,
  type PublishPrekeysResult,
} from '@deaddrop/contract';
import { createMailboxStore } from '../src/store/create-store.js';
import { countStoreErrors } from '../src/store/error-counting-store.js';
import type { MailboxStore } from '../src/store/mailbox-store.js';
import {
  REDIS_URL,
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

const CLAIMS_PER_MINUTE = 5;

function prekeysOf(agent: TestAgent, count: number) {
  return Array.from({ length: count }, () => generatePrekey(agent.agentId, agent.keys));
}

async function claimMetric(relay: TestRelay, outcome: string): Promise<number> {
  const text = await relay.services.metrics.scrape();
  const line = text
    .split('\n')
    .find((row) => row.startsWith(`deaddrop_prekey_claims_total{outcome="${outcome}"}`));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

describe.each<StoreKind>(['embedded', 'redis'])('prekeys on the %s store', (kind) => {
  let relay: TestRelay;
  let counter = 0;

  beforeAll(async () => {
    relay = await startTestRelay(kind, {
      RATE_PREKEY_CLAIMS_PER_MINUTE: String(CLAIMS_PER_MINUTE),
    });
  });
  afterAll(async () => {
    await relay.stop();
  });

  async function newAgent(): Promise<TestAgent> {
    const agent = makeAgent(`pk-${kind}-${Date.now().toString(36)}-${counter++}`);
    await register(relay.url, relay.relayId, agent);
    return agent;
  }

  const publish = (agent: TestAgent, prekeys: readonly Prekey[]) =>
    mailboxClient(
      relay.url,
      relay.relayId,
      agent,
      'directory.publishPrekeys',
    ).directory.publishPrekeys.mutate({ prekeys: [...prekeys] });
  const stats = (agent: TestAgent) =>
    mailboxClient(relay.url, relay.relayId, agent, 'stats').stats.query();
  const claim = (agentId: string) => rawClient(relay.url).directory.claimPrekey.mutate({ agentId });

  it('publishes, claims oldest first and once each, and counts in stats', async () => {
    const bob = await newAgent();
    const generated = prekeysOf(bob, 3);
    expect(
      await publish(
        bob,
        generated.map((one) => one.prekey),
      ),
    ).toEqual({
      stored: 3,
      total: 3,
    });
    expect((await stats(bob)).prekeys).toBe(3);

    const served = await claimMetric(relay, 'served');
    const first = await claim(bob.agentId);
    expect(first).toEqual({ prekey: generated[0]?.prekey, remaining: 2 });
    expect((await stats(bob)).prekeys).toBe(2);
    expect(await claimMetric(relay, 'served')).toBe(served + 1);

    // A sender seals v2 to the claimed prekey; the relay stores it; its secret opens it.
    const alice = await newAgent();
    const prekey = first.prekey;
    if (prekey === null) throw new Error('no prekey');
    const sealed = sealMessageV2({
      from: alice.agentId,
      sender: alice.keys,
      to: bob.agentId,
      prekey,
      body: 'forward secret',
    });
    await rawClient(relay.url).send.mutate({ to: bob.agentId, ciphertext: sealed.ciphertext });
    const { messages } = await mailboxClient(relay.url, relay.relayId, bob, 'poll').poll.query({});
    const stored = messages[0]?.ciphertext ?? '';
    const secret = generated[0]?.secretKey ?? new Uint8Array();
    const opened = openMessageV2(stored, bob.agentId, { id: prekey.id, secretKey: secret });
    expect(opened.ok && opened.message.body).toBe('forward secret');
  });

  it('answers null when none is left, and counts it as empty', async () => {
    const bob = await newAgent();
    const empty = await claimMetric(relay, 'empty');
    expect(await claim(bob.agentId)).toEqual({ prekey: null, remaining: 0 });
    expect(await claimMetric(relay, 'empty')).toBe(empty + 1);
    expect(await rejection(claim('nobody-here'))).toMatchObject({ reason: 'AGENT_NOT_FOUND' });
  });

  it('refuses a bad signature, a weak key and duplicates, storing nothing of the call', async () => {
    const bob = await newAgent();
    const mallory = await newAgent();
    const [good, other] = prekeysOf(bob, 2).map((one) => one.prekey);
    if (good === undefined || other === undefined) throw new Error('no prekeys');

    // Signed by another agent's key, or for another agent id: not the directory key's.
    const forged = generatePrekey(bob.agentId, mallory.keys).prekey;
    expect(await rejection(publish(bob, [good, forged]))).toMatchObject({
      code: 'BAD_REQUEST',
      reason: 'PREKEY_BAD_SIGNATURE',
    });
    const forOther = generatePrekey(mallory.agentId, bob.keys).prekey;
    expect(await rejection(publish(bob, [forOther]))).toMatchObject({
      reason: 'PREKEY_BAD_SIGNATURE',
    });
    // An all-zero X25519 key, properly signed: weak.
    const zeroKey = toB64u(new Uint8Array(32));
    const weak = {
      id: other.id,
      key: zeroKey,
      sig: signPrekey(bob.agentId, other.id, zeroKey, bob.keys),
    };
    expect(await rejection(publish(bob, [weak]))).toMatchObject({ reason: 'PREKEY_WEAK_KEY' });
    expect(await rejection(publish(bob, [good, good]))).toMatchObject({
      reason: 'PREKEY_DUPLICATE',
    });
    expect((await stats(bob)).prekeys).toBe(0);

    await publish(bob, [good]);
    expect(await rejection(publish(bob, [other, good]))).toMatchObject({
      reason: 'PREKEY_DUPLICATE',
    });
    expect((await stats(bob)).prekeys).toBe(1);
  });

  it('holds at most 200 and says how many more fit', async () => {
    const bob = await newAgent();
    await publish(
      bob,
      prekeysOf(bob, 100).map((one) => one.prekey),
    );
    await publish(
      bob,
      prekeysOf(bob, 95).map((one) => one.prekey),
    );
    const refused = await rejection(
      publish(
        bob,
        prekeysOf(bob, 6).map((one) => one.prekey),
      ),
    );
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', reason: 'PREKEYS_FULL' });
    expect(refused.message).toContain('it holds 195, so 5 more fit');
    expect(
      await publish(
        bob,
        prekeysOf(bob, 5).map((one) => one.prekey),
      ),
    ).toEqual({
      stored: 5,
      total: 200,
    });
  });

  it('limits claims per address and mailbox; a refused claim burns no prekey', async () => {
    const bob = await newAgent();
    const carol = await newAgent();
    await publish(
      bob,
      prekeysOf(bob, 10).map((one) => one.prekey),
    );
    await publish(
      carol,
      prekeysOf(carol, 1).map((one) => one.prekey),
    );
    for (let i = 0; i < CLAIMS_PER_MINUTE; i++) await claim(bob.agentId);
    const refusedBefore = await claimMetric(relay, 'refused');
    const refused = await rejection(claim(bob.agentId));
    expect(refused).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
    expect(refused.message).toContain('5 prekey claims a minute from one mailbox by one address');
    expect(await claimMetric(relay, 'refused')).toBe(refusedBefore + 1);
    expect((await stats(bob)).prekeys).toBe(10 - CLAIMS_PER_MINUTE);
    // Another mailbox from the same address has its own bucket.
    expect((await claim(carol.agentId)).prekey).not.toBeNull();
  });

  it('reports the claim limit in info', async () => {
    const info = await rawClient(relay.url).info.query();
    expect(info.rateLimits.prekeyClaimsPerMinute).toBe(CLAIMS_PER_MINUTE);
  });
});

// A rotation landing between the handler's check and the store's write (another relay process, or
// the agent's own top-up racing its rotateKey): the store is gated here to make the interleaving
// deterministic; with two relay processes on one store it needs no gate.
describe.each<StoreKind>(['embedded', 'redis'])(
  'a publish racing a rotation on the %s store',
  (kind) => {
    let relay: TestRelay;
    let dataDir: string;
    let counter = 0;
    /** While set, the next publish waits for it after the handler's checks, before the store. */
    let publishGate: { reached: () => void; open: Promise<void> } | undefined;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-prekey-race-'));
      const real = await createMailboxStore({
        dataDir,
        ...DEFAULT_LIMITS,
        ...(kind === 'redis'
          ? { redisUrl: REDIS_URL, keyPrefix: `test-prekey-race-${process.pid}-${Date.now()}:` }
          : {}),
      });
      const store: MailboxStore = {
        ...countStoreErrors(real, () => undefined),
        publishPrekeys: async (agentId, prekeys, max, agentKey) => {
          // Taken by the first publish only: the handler's second try runs ungated.
          const gate = publishGate;
          publishGate = undefined;
          if (gate !== undefined) {
            gate.reached();
            await gate.open;
          }
          return real.publishPrekeys(agentId, prekeys, max, agentKey);
        },
      };
      relay = await startTestRelay(kind, {}, { store });
    });
    afterAll(async () => {
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** Publishes `prekeys` for `agent`, rotating its key to `newKeys` after the check, before the store. */
    async function publishAcrossRotation(
      agent: TestAgent,
      prekeys: readonly Prekey[],
      newKeys: AgentKeys,
    ): Promise<PublishPrekeysResult> {
      let reached!: () => void;
      const atStore = new Promise<void>((resolve) => (reached = resolve));
      let open!: () => void;
      publishGate = { reached, open: new Promise<void>((resolve) => (open = resolve)) };
      const published = mailboxClient(
        relay.url,
        relay.relayId,
        agent,
        'directory.publishPrekeys',
      ).directory.publishPrekeys.mutate({ prekeys: [...prekeys] });
      await atStore;
      const step = signRotation({
        relayId: relay.relayId,
        agentId: agent.agentId,
        oldKeys: agent.keys,
        newKeys,
      });
      const { newKey, ts, sigOld, sigNew } = step;
      await rawClient(relay.url).directory.rotate.mutate({
        agentId: agent.agentId,
        newKey,
        ts,
        sigOld,
        sigNew,
      });
      open();
      return published;
    }

    async function newAgent(): Promise<TestAgent> {
      const agent = makeAgent(`race-${kind}-${Date.now().toString(36)}-${counter++}`);
      await register(relay.url, relay.relayId, agent);
      return agent;
    }

    it('refuses prekeys checked against the old key and stored after the rotation, holding none', async () => {
      const bob = await newAgent();
      const prekeys = Array.from({ length: 3 }, () => generatePrekey(bob.agentId, bob.keys).prekey);
      const newKeys = deriveAgentKeys(generateSeed());

      const refused = await rejection(publishAcrossRotation(bob, prekeys, newKeys));
      expect(refused).toMatchObject({ code: 'BAD_REQUEST', reason: 'PREKEY_BAD_SIGNATURE' });
      expect(refused.message).toContain('no longer the agent’s');
      const client = rawClient(relay.url);
      expect(await client.directory.claimPrekey.mutate({ agentId: bob.agentId })).toEqual({
        prekey: null,
        remaining: 0,
      });

      // The agent's next top-up, signed by its new key, is stored.
      const rotated = { agentId: bob.agentId, keys: newKeys };
      const fresh = Array.from({ length: 2 }, () => generatePrekey(bob.agentId, newKeys).prekey);
      expect(
        await mailboxClient(
          relay.url,
          relay.relayId,
          rotated,
          'directory.publishPrekeys',
        ).directory.publishPrekeys.mutate({ prekeys: fresh }),
      ).toEqual({ stored: 2, total: 2 });
    });

    it('judges the call again against the new key: one keeping the signing key stores them', async () => {
      const bob = await newAgent();
      const prekeys = Array.from({ length: 3 }, () => generatePrekey(bob.agentId, bob.keys).prekey);
      // A new box key under the same signing key: the prekeys still verify with the new agent key.
      const other = deriveAgentKeys(generateSeed());
      const newKeys: AgentKeys = {
        ...bob.keys,
        agentKey: formatAgentKey(bob.keys.signPublicKey, other.boxPublicKey),
        boxPublicKey: other.boxPublicKey,
        box: other.box,
      };

      expect(await publishAcrossRotation(bob, prekeys, newKeys)).toEqual({ stored: 3, total: 3 });
      const client = rawClient(relay.url);
      const { agentKey } = await client.directory.lookup.query({ agentId: bob.agentId });
      expect(agentKey).toBe(newKeys.agentKey);
      const directoryKey = parseAgentKey(agentKey);
      const { prekey } = await client.directory.claimPrekey.mutate({ agentId: bob.agentId });
      expect(prekey).not.toBeNull();
      if (prekey !== null && directoryKey !== null) {
        expect(verifyPrekey(bob.agentId, prekey, directoryKey)).toBe(true);
      }
    });
  },
);
