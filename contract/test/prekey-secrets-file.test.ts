// The prekey secrets file (PROTOCOL §1, §10): round trip, and every malformed file refused with a
// reason instead of a throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  generatePrekey,
  generateSeed,
  parsePrekeySecretsFile,
  serializePrekeySecretsFile,
  toB64u,
  type PrekeySecretEntry,
} from '../src/index.js';

const bob = deriveAgentKeys(generateSeed());

function entries(count: number): PrekeySecretEntry[] {
  return Array.from({ length: count }, (_, index) => {
    const { prekey, secretKey } = generatePrekey('bob', bob);
    return { id: prekey.id, secretKey, key: prekey.key, createdAt: 1_764_000_000_000 + index };
  });
}

describe('prekey secrets file', () => {
  it('reads back what it writes, in order, as one line', () => {
    for (const count of [0, 1, 5]) {
      const written = entries(count);
      const text = serializePrekeySecretsFile(written);
      expect(text.endsWith('}\n')).toBe(true);
      expect(text.split('\n')).toHaveLength(2);
      expect(parsePrekeySecretsFile(text)).toEqual({ ok: true, prekeys: written });
    }
  });

  it('refuses files that are not ours, with a reason', () => {
    const [one, two] = entries(2);
    if (one === undefined || two === undefined) throw new Error('no entries');
    const good = JSON.parse(serializePrekeySecretsFile([one])) as {
      prekeys: Record<string, unknown>[];
    };
    const variant = (patch: Record<string, unknown>) =>
      JSON.stringify({ v: 1, prekeys: [{ ...good.prekeys[0], ...patch }] });
    expect(parsePrekeySecretsFile('{')).toEqual({ ok: false, reason: 'not JSON' });
    expect(parsePrekeySecretsFile('{"v":2,"prekeys":[]}').ok).toBe(false);
    expect(parsePrekeySecretsFile('{"v":1}').ok).toBe(false);
    expect(parsePrekeySecretsFile(variant({ id: 'AAAA' }))).toEqual({
      ok: false,
      reason: 'bad field prekeys.0.id',
    });
    expect(parsePrekeySecretsFile(variant({ createdAt: -1 })).ok).toBe(false);
    expect(parsePrekeySecretsFile(variant({ key: two.key }))).toEqual({
      ok: false,
      reason: "prekeys.0.key is not its secret key's public key",
    });
    expect(parsePrekeySecretsFile(serializePrekeySecretsFile([one, one]))).toEqual({
      ok: false,
      reason: 'prekey id repeats at prekeys.1',
    });
    const tooMany = JSON.stringify({
      v: 1,
      prekeys: new Array<unknown>(1001).fill(good.prekeys[0]),
    });
    expect(parsePrekeySecretsFile(tooMany).ok).toBe(false);
    expect(parsePrekeySecretsFile(variant({ secretKey: toB64u(new Uint8Array(31)) })).ok).toBe(
      false,
    );
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        expect(typeof parsePrekeySecretsFile(text).ok).toBe('boolean');
      }),
    );
  });
});
