// One-time prekeys and envelope v2 (PROTOCOL §10): the v1.1 known answers (libsodium) byte for
// byte, round trips and tampering as properties, and hostile inputs as typed failures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import v1 from './fixtures/vectors-v1.json' with { type: 'json' };
import v11 from './fixtures/vectors-v1.1.json' with { type: 'json' };
import {
  MIN_CIPHERTEXT_BYTES,
  MIN_CIPHERTEXT_V2_BYTES,
  deriveAgentKeys,
  fromB64u,
  generatePrekey,
  generateSeed,
  openMessage,
  openMessageV2,
  prekeySignedBytes,
  readPrekeyId,
  sealMessage,
  sealMessageV2,
  sendInput,
  toB64u,
  verifyPrekey,
  type AgentKeys,
  type InnerMessage,
  type JsonValue,
} from '../src/index.js';

function bytes(text: string): Uint8Array {
  const value = fromB64u(text);
  if (value === null) throw new Error(`fixture is not b64u: ${text}`);
  return value;
}

function identity(agentId: string): AgentKeys {
  const found = v1.identities.find((entry) => entry.agentId === agentId);
  if (found === undefined) throw new Error(`no identity ${agentId}`);
  return deriveAgentKeys(bytes(found.seed));
}

const vectorAlice = identity('alice');
const vectorBob = identity('bob');

function vectorPrekey(id: string) {
  const found = v11.prekeys.find((entry) => entry.id === id);
  if (found === undefined) throw new Error(`no prekey ${id}`);
  return found;
}

describe('prekey vectors', () => {
  it.each(v11.prekeys)('signs prekey $id to the exact bytes and signature', (vector) => {
    const generated = generatePrekey(vector.agentId, vectorBob, {
      id: bytes(vector.id),
      secretKey: bytes(vector.secretKey),
    });
    expect(generated.prekey).toEqual({ id: vector.id, key: vector.key, sig: vector.sig });
    expect(toB64u(prekeySignedBytes(vector.agentId, vector.id, vector.key))).toBe(
      vector.signedBytes,
    );
    expect(verifyPrekey(vector.agentId, generated.prekey, vectorBob)).toBe(true);
  });

  it.each(v11.prekeys)('refuses prekey $id for another agent, signer or key', (vector) => {
    const prekey = { id: vector.id, key: vector.key, sig: vector.sig };
    expect(verifyPrekey('bobby', prekey, vectorBob)).toBe(false);
    expect(verifyPrekey(vector.agentId, prekey, vectorAlice)).toBe(false);
    const other = v11.prekeys.find((entry) => entry.id !== vector.id);
    if (other === undefined) throw new Error('one prekey vector only');
    expect(verifyPrekey(vector.agentId, { ...prekey, key: other.key }, vectorBob)).toBe(false);
    expect(verifyPrekey(vector.agentId, { ...prekey, id: other.id }, vectorBob)).toBe(false);
  });
});

describe('envelope v2 vectors', () => {
  it.each(v11.envelopesV2)('seals to prekey $prekeyId to the exact ciphertext', (vector) => {
    const inner = JSON.parse(vector.innerJson) as InnerMessage;
    const prekey = vectorPrekey(vector.prekeyId);
    const sealed = sealMessageV2(
      {
        from: inner.from,
        sender: vectorAlice,
        to: inner.to,
        prekey,
        body: inner.body,
      },
      {
        id: inner.id,
        sentAt: inner.sentAt,
        ephemeralSecretKey: bytes(vector.ephemeralSecretKey),
        nonce: bytes(vector.nonce),
      },
    );
    expect(sealed.ciphertext).toBe(vector.ciphertext);
    expect(sealed.bytes).toBe(1 + 8 + 32 + 24 + 16 + vector.paddedLength);
    expect(readPrekeyId(vector.ciphertext)).toBe(vector.prekeyId);
  });

  it.each(v11.envelopesV2)('opens $prekeyId with its prekey secret only', (vector) => {
    const prekey = vectorPrekey(vector.prekeyId);
    const opened = openMessageV2(vector.ciphertext, 'bob', {
      id: prekey.id,
      secretKey: bytes(prekey.secretKey),
    });
    expect(opened.ok && opened.message).toEqual(JSON.parse(vector.innerJson));
    // The identity key alone cannot open it: that is the point of the prekey.
    expect(openMessage(vector.ciphertext, 'bob', vectorBob)).toEqual({
      ok: false,
      reason: 'bad-version',
    });
    const other = v11.prekeys.find((entry) => entry.id !== vector.prekeyId);
    if (other === undefined) throw new Error('one prekey vector only');
    expect(
      openMessageV2(vector.ciphertext, 'bob', { id: other.id, secretKey: bytes(other.secretKey) }),
    ).toEqual({ ok: false, reason: 'prekey-unknown' });
    // The right id with the wrong secret does not open either.
    expect(
      openMessageV2(vector.ciphertext, 'bob', { id: prekey.id, secretKey: bytes(other.secretKey) }),
    ).toEqual({ ok: false, reason: 'decrypt-failed' });
  });
});

const alice = deriveAgentKeys(generateSeed());
const bob = deriveAgentKeys(generateSeed());
const jsonBody = fc
  .jsonValue({ maxDepth: 3 })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);

function sealToFreshPrekey(body: JsonValue) {
  const generated = generatePrekey('bob', bob);
  const sealed = sealMessageV2({
    from: 'alice',
    sender: alice,
    to: 'bob',
    prekey: generated.prekey,
    body,
  });
  return { sealed, secret: { id: generated.prekey.id, secretKey: generated.secretKey } };
}

describe('envelope v2 properties', () => {
  it('round-trips any JSON body, and is 8 bytes longer than v1 for the same inner size', () => {
    fc.assert(
      fc.property(jsonBody, (body) => {
        const { sealed, secret } = sealToFreshPrekey(body);
        const opened = openMessageV2(sealed.ciphertext, 'bob', secret);
        expect(opened.ok && opened.message.body).toEqual(body);
        const v1Sealed = sealMessage(
          { from: 'alice', sender: alice, to: 'bob', recipient: bob, body },
          { id: sealed.id, sentAt: sealed.sentAt },
        );
        expect(sealed.bytes - v1Sealed.bytes).toBe(8);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses every flipped byte', () => {
    const { sealed, secret } = sealToFreshPrekey({ hello: 'world' });
    const envelope = bytes(sealed.ciphertext);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: envelope.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (index, flip) => {
          const tampered = Uint8Array.from(envelope);
          tampered[index] = (tampered[index] ?? 0) ^ flip;
          expect(openMessageV2(toB64u(tampered), 'bob', secret).ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws for arbitrary ciphertext strings or bytes', () => {
    const secret = { id: toB64u(new Uint8Array(8)), secretKey: new Uint8Array(32).fill(7) };
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(openMessageV2(text, 'bob', secret).ok).toBe(false);
        readPrekeyId(text);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (raw) => {
        const text = toB64u(raw);
        expect(openMessageV2(text, 'bob', secret).ok).toBe(false);
        const id = readPrekeyId(text);
        expect(id === null || raw[0] === 2).toBe(true);
      }),
    );
  });

  it('reports a generated prekey that verifies, and none that is tampered', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('id' as const, 'key' as const, 'sig' as const),
        fc.nat(),
        (field, position) => {
          const { prekey } = generatePrekey('bob', bob);
          expect(verifyPrekey('bob', prekey, bob)).toBe(true);
          const text = prekey[field];
          const at = position % text.length;
          const swapped = text[at] === 'A' ? 'B' : 'A';
          const tampered = { ...prekey, [field]: text.slice(0, at) + swapped + text.slice(at + 1) };
          expect(verifyPrekey('bob', tampered, bob)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('hostile v2 input', () => {
  const { sealed, secret } = sealToFreshPrekey('hi');
  const envelope = bytes(sealed.ciphertext);

  it('gives typed failures for truncated, wrong-version and malformed envelopes', () => {
    expect(MIN_CIPHERTEXT_V2_BYTES).toBe(177);
    expect(openMessageV2('AB', 'bob', secret)).toEqual({ ok: false, reason: 'bad-encoding' });
    expect(openMessageV2('AB=', 'bob', secret)).toEqual({ ok: false, reason: 'bad-encoding' });
    expect(openMessageV2(toB64u(envelope.subarray(0, 176)), 'bob', secret)).toEqual({
      ok: false,
      reason: 'too-short',
    });
    expect(readPrekeyId(toB64u(envelope.subarray(0, 176)))).toBeNull();
    for (const version of [0, 1, 3, 255]) {
      const other = Uint8Array.from(envelope);
      other[0] = version;
      expect(openMessageV2(toB64u(other), 'bob', secret)).toEqual({
        ok: false,
        reason: 'bad-version',
      });
      expect(readPrekeyId(toB64u(other))).toBeNull();
    }
    // A box cut short by one byte no longer opens; one byte too many neither.
    expect(openMessageV2(toB64u(envelope.subarray(0, -1)), 'bob', secret).ok).toBe(false);
    const longer = new Uint8Array(envelope.length + 1);
    longer.set(envelope);
    expect(openMessageV2(toB64u(longer), 'bob', secret)).toEqual({
      ok: false,
      reason: 'decrypt-failed',
    });
    expect(
      openMessageV2(sealed.ciphertext, 'bob', { ...secret, secretKey: new Uint8Array(31) }),
    ).toEqual({ ok: false, reason: 'decrypt-failed' });
    expect(openMessageV2(sealed.ciphertext, 'carol', secret)).toEqual({
      ok: false,
      reason: 'wrong-recipient',
    });
  });

  it('refuses to seal to a malformed or weak prekey', () => {
    const input = { from: 'alice', sender: alice, to: 'bob', body: 'x' };
    const { prekey } = generatePrekey('bob', bob);
    expect(() => sealMessageV2({ ...input, prekey: { ...prekey, id: 'AAAA' } })).toThrow(TypeError);
    expect(() =>
      sealMessageV2({ ...input, prekey: { ...prekey, key: toB64u(new Uint8Array(32)) } }),
    ).toThrow(TypeError);
    expect(() => sealMessageV2({ ...input, prekey: { ...prekey, key: 'not b64u!' } })).toThrow(
      TypeError,
    );
    expect(verifyPrekey('bob', { ...prekey, key: toB64u(new Uint8Array(32)) }, bob)).toBe(false);
  });

  it('lets send carry versions 0x01 and 0x02 at their least sizes, nothing else', () => {
    const v1Sealed = bytes(
      sealMessage({ from: 'alice', sender: alice, to: 'bob', recipient: bob, body: 'x' })
        .ciphertext,
    );
    const accepts = (raw: Uint8Array) =>
      sendInput.safeParse({ to: 'bob', ciphertext: toB64u(raw) }).success;
    expect(accepts(envelope)).toBe(true);
    expect(accepts(v1Sealed)).toBe(true);
    expect(accepts(envelope.subarray(0, MIN_CIPHERTEXT_V2_BYTES))).toBe(true);
    expect(accepts(envelope.subarray(0, MIN_CIPHERTEXT_V2_BYTES - 1))).toBe(false);
    const v1Least = v1Sealed.subarray(0, MIN_CIPHERTEXT_BYTES);
    expect(accepts(v1Least)).toBe(true);
    const v3 = Uint8Array.from(envelope);
    v3[0] = 3;
    expect(accepts(v3)).toBe(false);
  });
});
