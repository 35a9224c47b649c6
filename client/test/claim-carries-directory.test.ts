// The prekey claim's answer carries the recipient's directory record (PROTOCOL §10), and the SDK
// judges the recipient's key by it exactly as by a lookup's: one request fewer in front of `send`
// (no `directory.lookup`), and the same verdicts — a changed key is KEY_CHANGED, an explicit key
// the record contradicts KEY_MISMATCH, a record for another agent a misbehaving relay, a verified
// rotation chain moves the pin. A claim answer without the record (a relay from before it) is
// followed by a lookup, as before. The hostile relay's honest claim answers as such an older
// relay; each test here adds the record to the claim's answer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  generateSeed,
  signRotation,
  type DirectoryRecord,
} from '@deaddrop/contract';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';
import { DeadDropClient } from '../src/client.js';
import { isDeadDropError } from '../src/errors.js';
import { createIdentity } from '../src/keystore.js';

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;
let carol: DeadDropClient;
/** Never registered: a key that is nobody's on this relay. */
let mallory: DeadDropClient;
/** The directory's records as the relay's lookup answers them, by agent. */
const records = new Map<string, DirectoryRecord>();

async function newAgent(agentId: string): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, agentId),
    relayUrl: relay.url,
  });
  return new DeadDropClient({ identity });
}

function recordOf(agentId: string): DirectoryRecord {
  const record = records.get(agentId);
  if (record === undefined) throw new Error(`no record looked up for ${agentId}`);
  return record;
}

/** Claims answer as the relay would, plus `directory`: what `carry` makes of the claimed agent's record. */
function claimsCarry(carry: (record: DirectoryRecord) => unknown, prekeys = true): void {
  relay.misbehave('directory.claimPrekey', async (call) => {
    const honest = await call.honest();
    if (!('data' in honest)) return honest;
    const { agentId } = call.input as { agentId: string };
    const claimed = prekeys ? honest.data : { prekey: null, remaining: 0 };
    return { data: { ...claimed, directory: carry(recordOf(agentId)) } };
  });
}

/**
 * `claimsCarry` once alice has seen a claim answer carrying the record: after one without it (an
 * older relay's) she looks the recipient up beside the next claim, not after it.
 */
async function claimsCarryFromNowOn(
  carry: (record: DirectoryRecord) => unknown,
  prekeys = true,
): Promise<void> {
  claimsCarry((record) => record);
  await alice.sendMessage({ to: 'bob', message: 'warm-up' });
  claimsCarry(carry, prekeys);
}

const lookups = (): number => relay.callsTo('directory.lookup').length;
const claims = (): number => relay.callsTo('directory.claimPrekey').length;
const sends = (): number => relay.callsTo('send').length;

async function rejection(promise: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isDeadDropError(error)) return { reason: error.reason, message: error.message };
    throw new Error(`not a DeadDropError: ${String(error)}`, { cause: error });
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-claim-directory-')),
  ]);
  [alice, bob, carol, mallory] = await Promise.all([
    newAgent('alice'),
    newAgent('bob'),
    newAgent('carol'),
    newAgent('mallory'),
  ]);
  await Promise.all([alice.register(), bob.register(), carol.register()]);
  for (const agent of [bob, carol]) {
    records.set(
      agent.agentId,
      await alice.relay.directory.lookup.query({ agentId: agent.agentId }),
    );
  }
  // Alice pins bob (first contact, through the record the claim carries).
  claimsCarry((record) => record);
  const lookupsBefore = lookups();
  const first = await alice.sendMessage({ to: 'bob', message: 'first contact' });
  expect(first).toMatchObject({ pinChange: 'new', forwardSecret: true, pinSource: 'directory' });
  expect(lookups()).toBe(lookupsBefore);
});

afterAll(async () => {
  for (const client of [alice, bob, carol, mallory]) client.close();
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

afterEach(() => {
  relay.behaveHonestly();
});

describe('a claim answer carrying the directory record', () => {
  it('spares the lookup: claim and send only, forward secret, and bob reads it', async () => {
    await claimsCarryFromNowOn((record) => record);
    const [lookupsBefore, claimsBefore, sendsBefore] = [lookups(), claims(), sends()];
    for (const message of ['one', 'two', 'three']) {
      const sent = await alice.sendMessage({ to: 'bob', message });
      expect(sent).toMatchObject({ forwardSecret: true, pinChange: 'none' });
    }
    expect(lookups()).toBe(lookupsBefore);
    expect(claims()).toBe(claimsBefore + 3);
    expect(sends()).toBe(sendsBefore + 3);
    const read = await bob.pollAndDecrypt();
    expect(read.slice(-3)).toMatchObject(
      ['one', 'two', 'three'].map((body) => ({ from: 'alice', verified: true, body })),
    );
  });

  it('spares the lookup when no prekey is left too (v1)', async () => {
    await claimsCarryFromNowOn((record) => record, false);
    const lookupsBefore = lookups();
    const sent = await alice.sendMessage({ to: 'bob', message: 'none left' });
    expect(sent.forwardSecret).toBe(false);
    expect(lookups()).toBe(lookupsBefore);
  });

  it('is KEY_CHANGED for a changed key, as the lookup’s is, and sends nothing', async () => {
    const changed = (record: DirectoryRecord): DirectoryRecord => ({
      ...record,
      agentKey: mallory.identity.agentKey,
    });
    await claimsCarryFromNowOn(changed);
    const [lookupsBefore, sendsBefore] = [lookups(), sends()];
    const carried = await rejection(alice.sendMessage({ to: 'bob', message: 'x' }));
    expect(lookups()).toBe(lookupsBefore);

    // The same change answered by the lookup (the claim carrying none, as an older relay's).
    relay.behaveHonestly();
    relay.misbehave('directory.lookup', () => ({ data: changed(recordOf('bob')) }));
    const lookedUp = await rejection(alice.sendMessage({ to: 'bob', message: 'x' }));
    expect(lookups()).toBeGreaterThan(lookupsBefore);

    expect(carried.reason).toBe('KEY_CHANGED');
    expect(carried).toEqual(lookedUp);
    expect(sends()).toBe(sendsBefore);
    expect(alice.pins().get('bob')?.key).toBe(bob.identity.agentKey);
  });

  it('is KEY_MISMATCH for an explicit key the carried record contradicts, as the lookup’s is', async () => {
    const given = { to: 'carol', recipientKey: mallory.identity.agentKey, message: 'x' };
    await claimsCarryFromNowOn((record) => record);
    const lookupsBefore = lookups();
    const carried = await rejection(alice.sendMessage(given));
    expect(lookups()).toBe(lookupsBefore);

    relay.behaveHonestly();
    const lookedUp = await rejection(alice.sendMessage(given));
    expect(carried.reason).toBe('KEY_MISMATCH');
    expect(carried).toEqual(lookedUp);
    expect(alice.pins().get('carol')).toBeUndefined();
  });

  it('refuses a record for another agent as it refuses such a lookup', async () => {
    await claimsCarryFromNowOn(() => recordOf('carol'));
    const sendsBefore = sends();
    const carried = await rejection(alice.sendMessage({ to: 'bob', message: 'x' }));
    relay.behaveHonestly();
    relay.misbehave('directory.lookup', () => ({ data: recordOf('carol') }));
    const lookedUp = await rejection(alice.sendMessage({ to: 'bob', message: 'x' }));
    expect(carried.reason).toBe('RELAY_INVALID_RESPONSE');
    expect(carried).toEqual(lookedUp);
    expect(sends()).toBe(sendsBefore);
  });

  it('moves the pin along a verified rotation chain it holds', async () => {
    await alice.sendMessage({ to: 'carol', message: 'pin carol' });
    const newKeys = deriveAgentKeys(generateSeed());
    const step = signRotation({
      relayId: relay.relayId,
      agentId: 'carol',
      oldKeys: carol.identity.keys,
      newKeys,
    });
    // No prekey: those carol's old key signed went with the rotation.
    await claimsCarryFromNowOn(
      (record) => ({ ...record, agentKey: newKeys.agentKey, rotations: [step] }),
      false,
    );
    const lookupsBefore = lookups();
    const sent = await alice.sendMessage({ to: 'carol', message: 'after the rotation' });
    expect(sent).toMatchObject({
      pinChange: 'replaced',
      recipientKey: newKeys.agentKey,
      forwardSecret: false,
    });
    expect(lookups()).toBe(lookupsBefore);
    expect(alice.pins().get('carol')?.key).toBe(newKeys.agentKey);
  });
});

describe('a claim answer without the directory record (a relay from before it)', () => {
  it('is followed by one lookup per send, as before', async () => {
    const lookupsBefore = lookups();
    const sent = await alice.sendMessage({ to: 'bob', message: 'older relay' });
    expect(sent.forwardSecret).toBe(true);
    const afterFirst = lookups();
    expect(afterFirst).toBe(lookupsBefore + 1);
    await alice.sendMessage({ to: 'bob', message: 'older relay, again' });
    expect(lookups()).toBe(afterFirst + 1);
  });
});
