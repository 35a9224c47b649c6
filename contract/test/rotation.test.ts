// Rotation statements (PROTOCOL §10) against the libsodium vectors, and chain verification.
import { describe, expect, it } from 'vitest';
import vectors from './fixtures/vectors-v1.1.json' with { type: 'json' };
import v1 from './fixtures/vectors-v1.json' with { type: 'json' };
import {
  deriveAgentKeys,
  directoryRecord,
  fromB64u,
  generateSeed,
  rotationSignedBytes,
  signRotation,
  toB64u,
  verifyRotationChain,
  verifyRotationStep,
  type AgentKeys,
  type RotationStep,
} from '../src/index.js';

function bytes(text: string): Uint8Array {
  const value = fromB64u(text);
  if (value === null) throw new Error(`fixture is not b64u: ${text}`);
  return value;
}

function v1Identity(agentId: string): AgentKeys {
  const found = v1.identities.find((identity) => identity.agentId === agentId);
  if (found === undefined) throw new Error(`no identity ${agentId}`);
  return deriveAgentKeys(bytes(found.seed));
}

describe('rotation vectors', () => {
  it.each(vectors.rotations)('reproduces $agentId on $relayId byte for byte', (vector) => {
    const oldKeys = v1Identity(vector.agentId);
    const newKeys = deriveAgentKeys(bytes(vector.newSeed));
    expect(oldKeys.agentKey).toBe(vector.oldKey);
    expect(newKeys.agentKey).toBe(vector.newKey);
    const statement = { ...vector };
    expect(toB64u(rotationSignedBytes(statement))).toBe(vector.signedBytes);
    const step = signRotation({
      relayId: vector.relayId,
      agentId: vector.agentId,
      oldKeys,
      newKeys,
      ts: vector.ts,
    });
    // Ed25519 is deterministic, so our signatures equal libsodium's.
    expect(step).toEqual({
      oldKey: vector.oldKey,
      newKey: vector.newKey,
      ts: vector.ts,
      sigOld: vector.sigOld,
      sigNew: vector.sigNew,
    });
    expect(verifyRotationStep(vector.relayId, vector.agentId, step)).toBeNull();
  });

  it.each(vectors.rotations)('refuses $agentId tampered', (vector) => {
    const step: RotationStep = { ...vector };
    const swapped = { ...step, sigOld: vector.sigNew, sigNew: vector.sigOld };
    expect(verifyRotationStep(vector.relayId, vector.agentId, swapped)).toBe('bad-sig-old');
    expect(verifyRotationStep('relay-other', vector.agentId, step)).toBe('bad-sig-old');
    expect(verifyRotationStep(vector.relayId, 'mallory', step)).toBe('bad-sig-old');
    expect(verifyRotationStep(vector.relayId, vector.agentId, { ...step, ts: step.ts + 1 })).toBe(
      'bad-sig-old',
    );
    expect(
      verifyRotationStep(vector.relayId, vector.agentId, { ...step, sigNew: vector.sigOld }),
    ).toBe('bad-sig-new');
  });
});

describe('rotation chains', () => {
  const relayId = 'relay-chain';
  const agentId = 'carol';
  const keys = [generateSeed(), generateSeed(), generateSeed(), generateSeed()].map((seed) =>
    deriveAgentKeys(seed),
  );
  const key = (index: number): AgentKeys => {
    const found = keys[index];
    if (found === undefined) throw new Error(`no key ${index}`);
    return found;
  };
  const step = (from: number, to: number, options: { relay?: string } = {}): RotationStep =>
    signRotation({
      relayId: options.relay ?? relayId,
      agentId,
      oldKeys: key(from),
      newKeys: key(to),
    });
  const chain = (fromKey: number, toKey: number, rotations: readonly RotationStep[]) =>
    verifyRotationChain({
      relayId,
      agentId,
      fromKey: key(fromKey).agentKey,
      toKey: key(toKey).agentKey,
      rotations,
    });

  it('follows two rotations from a pin made before both', () => {
    const rotations = [step(0, 1), step(1, 2)];
    expect(chain(0, 2, rotations)).toEqual({ ok: true, steps: rotations });
    expect(chain(1, 2, rotations)).toEqual({ ok: true, steps: rotations.slice(1) });
  });

  it('finds no chain from a key that never rotated, to a key not current, or through a gap', () => {
    expect(chain(3, 2, [step(0, 1), step(1, 2)])).toEqual({ ok: false, reason: 'no-chain' });
    expect(chain(0, 1, [step(0, 1), step(1, 2)])).toEqual({ ok: false, reason: 'no-chain' });
    expect(chain(0, 2, [step(0, 1), step(3, 2)])).toEqual({ ok: false, reason: 'no-chain' });
    expect(chain(0, 2, [])).toEqual({ ok: false, reason: 'no-chain' });
  });

  it('refuses a chain with one forged step, whichever signature is wrong', () => {
    const good = step(1, 2);
    expect(chain(0, 2, [step(0, 1, { relay: 'relay-other' }), good])).toEqual({
      ok: false,
      reason: 'bad-sig-old',
    });
    expect(chain(0, 2, [{ ...step(0, 1), sigNew: good.sigNew }, good])).toEqual({
      ok: false,
      reason: 'bad-sig-new',
    });
  });

  it('follows a key that came back, from its last start that verifies', () => {
    const rotations = [step(0, 1), step(1, 0), step(0, 2)];
    expect(chain(0, 2, rotations)).toEqual({ ok: true, steps: rotations });
    expect(chain(1, 2, rotations)).toEqual({ ok: true, steps: rotations.slice(1) });
  });

  it('refuses more than 16 steps', () => {
    const rotations = Array.from({ length: 17 }, (_, index) => step(index % 2, (index + 1) % 2));
    expect(chain(0, 1, rotations)).toEqual({ ok: false, reason: 'too-long' });
  });

  it('reads a v1 relay answer without rotations as none, and refuses 17', () => {
    const record = { agentId, agentKey: key(0).agentKey, registeredAt: 1 };
    expect(directoryRecord.parse(record).rotations).toEqual([]);
    const many = Array.from({ length: 17 }, () => step(0, 1));
    expect(directoryRecord.safeParse({ ...record, rotations: many }).success).toBe(false);
  });
});
