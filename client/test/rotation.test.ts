// Key rotation end to end (PROTOCOL §10), the SDK against real relays on both stores: a chain of two
// rotations followed by a peer that was offline, mail sealed to the old key still opening, a
// rotation interrupted between the relay and the file, and forged chains leaving KEY_CHANGED.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  generateSeed,
  sealMessage,
  signRotation,
  type DirectoryRecord,
} from '@deaddrop/contract';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { ContactKeys } from '../src/contact-keys.js';
import { isDeadDropError } from '../src/errors.js';
import { isUnreadable, type InboxEntry, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity, loadIdentity, savePendingSeed } from '../src/keystore.js';
import { RelayCalls } from '../src/relay-calls.js';
import { createRelayTransport } from '../src/transport.js';
import { runCliProcess } from './cli-process.js';
import { rawRelayClient } from './raw-relay.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function messages(entries: InboxEntry[]): ReceivedMessage[] {
  return entries.filter((entry): entry is ReceivedMessage => !isUnreadable(entry));
}

/** Runs `action`, collecting the DeadDropWarnings it emits. */
async function warningsOf<T>(action: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const listener = (warning: Error): void => {
    if (warning.name === 'DeadDropWarning') warnings.push(warning.message);
  };
  process.on('warning', listener);
  try {
    const value = await action();
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    return { value, warnings };
  } finally {
    process.off('warning', listener);
  }
}

describe.each(['embedded', 'redis'] as const)('key rotation on %s', (store) => {
  let relay: SpawnedRelay;
  let scratch: string;

  beforeAll(async () => {
    [relay, scratch] = await Promise.all([
      spawnRelay(
        store === 'redis'
          ? { REDIS_URL, REDIS_KEY_PREFIX: `test-rotation-${process.pid}-${Date.now()}:` }
          : {},
      ),
      mkdtemp(join(tmpdir(), 'deaddrop-rotation-')),
    ]);
  });
  afterAll(async () => {
    await relay.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function newAgent(agentId: string): Promise<DeadDropClient> {
    const identity = await createIdentity(agentId, {
      home: join(scratch, agentId),
      relayUrl: relay.url,
    });
    const client = new DeadDropClient({ identity });
    await client.register();
    return client;
  }

  it('a peer offline through two rotations follows the chain, both ways, and says so', async () => {
    const alice = await newAgent('alice');
    const bob = await newAgent('bob');
    await bob.sendMessage({ to: 'alice', message: 'before' });
    await alice.pollAndDecrypt();
    await alice.sendMessage({ to: 'bob', message: 'hi bob' });
    await bob.pollAndDecrypt();
    const firstKey = alice.agentKey;

    const first = await alice.rotateKey();
    const second = await alice.rotateKey();
    expect(first.oldKey).toBe(firstKey);
    expect(second.oldKey).toBe(first.newKey);
    expect(alice.agentKey).toBe(second.newKey);
    expect((await alice.lookup('alice')).agentKey).toBe(second.newKey);

    // Bob pinned alice's first key; sending now follows both steps and moves the pin.
    const sent = await warningsOf(() => bob.sendMessage({ to: 'alice', message: 'after' }));
    expect(sent.value.pinChange).toBe('replaced');
    expect(sent.warnings.join('\n')).toContain(
      `key rotated for "alice" (fingerprint ${first.oldFingerprint} → ${second.newFingerprint})`,
    );
    expect(bob.pins().get('alice')?.key).toBe(second.newKey);
    const [received] = messages(await alice.pollAndDecrypt());
    expect(received).toMatchObject({ from: 'bob', body: 'after', verified: true });

    // Alice rotates again; bob judges her next message by the chain from his pin.
    const third = await alice.rotateKey();
    await alice.sendMessage({ to: 'bob', message: 'from my third key' });
    const read = await warningsOf(() => bob.pollAndDecrypt());
    expect(messages(read.value)).toMatchObject([
      { from: 'alice', body: 'from my third key', verified: true, fromKey: third.newKey },
    ]);
    expect(read.warnings.join('\n')).toContain('key rotated for "alice"');
    expect(bob.pins().get('alice')?.key).toBe(third.newKey);
  });

  it('an explicit key the agent has rotated away from is followed to the directory key', async () => {
    const carol = await newAgent('carol-x');
    const dave = await newAgent('dave-x');
    const oldKey = carol.agentKey;
    const rotated = await carol.rotateKey();

    // Dave was handed carol's old key out of band: the send follows the chain (source explicit).
    const sent = await warningsOf(() =>
      dave.sendMessage({ to: 'carol-x', message: 'to your old key', recipientKey: oldKey }),
    );
    expect(sent.value).toMatchObject({ pinSource: 'explicit', pinChange: 'new' });
    expect(sent.warnings.join('\n')).toContain(`key rotated for "carol-x"`);
    expect(dave.pins().get('carol-x')).toMatchObject({ key: rotated.newKey, source: 'explicit' });
    expect(messages(await carol.pollAndDecrypt())).toMatchObject([
      { from: 'dave-x', body: 'to your old key', verified: true },
    ]);
    // pin() follows it the same way; a key with no chain to the directory's is still refused.
    await dave.pin('carol-x', oldKey);
    expect(dave.pins().get('carol-x')?.key).toBe(rotated.newKey);
    const stranger = deriveAgentKeys(generateSeed()).agentKey;
    const refused = await dave
      .sendMessage({ to: 'carol-x', message: 'x', recipientKey: stranger })
      .catch((error: unknown) => error);
    expect(isDeadDropError(refused, 'KEY_MISMATCH')).toBe(true);
  });

  it('opens mail sealed to the old key after the rotation, also from a reopened file', async () => {
    const carol = await newAgent('carol');
    const dave = await newAgent('dave');
    await dave.sendMessage({ to: 'carol', message: 'sealed before' });
    const oldKeys = carol.identity.keys;
    const rotated = await carol.rotateKey();

    // A sender that still has the old key seals to it after the rotation.
    const late = sealMessage({
      from: 'dave',
      sender: dave.identity.keys,
      to: 'carol',
      recipient: oldKeys,
      body: 'sealed to the old key, sent after',
    });
    await rawRelayClient(relay.url).send.mutate({ to: 'carol', ciphertext: late.ciphertext });

    const reopened = await DeadDropClient.open('carol', { home: carol.identity.home });
    expect(reopened.agentKey).toBe(rotated.newKey);
    const bodies = messages(await reopened.pollAndDecrypt()).map((message) => message.body);
    expect(bodies).toEqual(['sealed before', 'sealed to the old key, sent after']);

    const file = JSON.parse(
      await readFile(join(carol.identity.home, 'agents', 'carol.json'), 'utf8'),
    ) as { previousSeeds: { seed: string; retiredAt: number }[]; pendingSeed?: string };
    expect(file.previousSeeds).toHaveLength(1);
    expect(file.pendingSeed).toBeUndefined();
  });

  it('finishes a rotation the relay made before the process died, and drops one it never took', async () => {
    const erin = await newAgent('erin');
    const relayId = (await erin.info()).relayId;

    // Died after writing the pending seed, before asking the relay: dropped, a new one made.
    await savePendingSeed(erin.identity, generateSeed());
    const fresh = await erin.rotateKey();
    expect((await erin.lookup('erin')).agentKey).toBe(fresh.newKey);

    // Died after the relay rotated, before the file was finished: the next call finishes it.
    const seed = generateSeed();
    const pendingKeys = deriveAgentKeys(seed);
    await savePendingSeed(erin.identity, seed);
    const step = signRotation({
      relayId,
      agentId: 'erin',
      oldKeys: erin.identity.keys,
      newKeys: pendingKeys,
    });
    await rawRelayClient(relay.url).directory.rotate.mutate({
      agentId: 'erin',
      newKey: step.newKey,
      ts: step.ts,
      sigOld: step.sigOld,
      sigNew: step.sigNew,
    });
    const finished = await erin.rotateKey();
    expect(finished.newKey).toBe(pendingKeys.agentKey);
    expect(erin.agentKey).toBe(pendingKeys.agentKey);
    expect((await erin.stats()).agentId).toBe('erin');
    expect((await loadIdentity('erin', { home: erin.identity.home })).pendingKeys).toBeUndefined();
  });

  it.runIf(store === 'embedded')(
    'deaddrop key rotate prints old → new fingerprint, and the key after is the new one',
    async () => {
      const hana = await newAgent('hana');
      const env = { DEADDROP_HOME: hana.identity.home };
      const rotated = await runCliProcess(['key', 'rotate', 'hana'], env);
      expect(rotated.code, rotated.stderr).toBe(0);
      const after = await loadIdentity('hana', { home: hana.identity.home });
      expect(rotated.stdout).toBe(
        `key rotated for hana: ${hana.fingerprint} → ${after.fingerprint}\nnew agent key: ${after.agentKey}\n`,
      );
      const printed = await runCliProcess(['key', 'hana'], env);
      expect(printed.stdout).toBe(`${after.agentKey}\n`);
      expect(
        (await rawRelayClient(relay.url).directory.lookup.query({ agentId: 'hana' })).agentKey,
      ).toBe(after.agentKey);
      const wrong = await runCliProcess(['key', 'spin', 'hana'], env);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain('unknown key action "spin"');
    },
    60_000,
  );

  it('refuses forged chains (bad sigOld, bad sigNew, another relay id): KEY_CHANGED kept', async () => {
    const frank = await newAgent('frank');
    const gina = await newAgent('gina');
    await gina.sendMessage({ to: 'frank', message: 'pin' });
    const relayId = (await gina.info()).relayId;
    const pinned = gina.pins().get('frank');
    if (pinned === undefined) throw new Error('gina pinned no key for frank');
    const mallory = deriveAgentKeys(generateSeed());
    const wanted = deriveAgentKeys(generateSeed());
    const honest = signRotation({
      relayId,
      agentId: 'frank',
      oldKeys: frank.identity.keys,
      newKeys: wanted,
    });
    const forgedSteps = [
      signRotation({ relayId, agentId: 'frank', oldKeys: mallory, newKeys: wanted }),
      {
        ...honest,
        sigNew: signRotation({
          relayId,
          agentId: 'frank',
          oldKeys: frank.identity.keys,
          newKeys: mallory,
        }).sigNew,
      },
      signRotation({
        relayId: 'relay-other',
        agentId: 'frank',
        oldKeys: frank.identity.keys,
        newKeys: wanted,
      }),
    ];
    const contacts = new ContactKeys(
      gina.identity,
      new RelayCalls(
        createRelayTransport({ relayUrl: relay.url, relayId: () => Promise.resolve(relayId) }),
        relay.url,
      ),
      false,
      Date.now,
      () => Promise.resolve(relayId),
    );
    for (const forged of forgedSteps) {
      const record: DirectoryRecord = {
        agentId: 'frank',
        agentKey: wanted.agentKey,
        registeredAt: 1,
        rotations: [{ ...forged, oldKey: pinned.key }],
      };
      expect(await contacts.followRotation('frank', pinned, record)).toBeNull();
    }
    expect(
      await contacts.followRotation('frank', pinned, {
        agentId: 'frank',
        agentKey: wanted.agentKey,
        registeredAt: 1,
        rotations: [honest],
      }),
    ).toMatchObject({ key: wanted.agentKey, source: pinned.source });

    // The relay refuses them too; after a rotation gina never saw a chain for, she refuses the key.
    for (const forged of forgedSteps) {
      const refused = await rawRelayClient(relay.url)
        .directory.rotate.mutate({
          agentId: 'frank',
          newKey: forged.newKey,
          ts: forged.ts,
          sigOld: forged.sigOld,
          sigNew: forged.sigNew,
        })
        .then(
          () => 'accepted',
          () => 'refused',
        );
      expect(refused).toBe('refused');
    }
    expect((await gina.lookup('frank')).agentKey).toBe(pinned.key);
    const strangerPin = { ...pinned, key: mallory.agentKey };
    await contacts.save('frank', strangerPin);
    const other = await DeadDropClient.open('gina', { home: gina.identity.home });
    const error = await other.sendMessage({ to: 'frank', message: 'x' }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(isDeadDropError(error, 'KEY_CHANGED')).toBe(true);
  });
});
