// Envelope properties: byte-identical to tweetnacl for valid inputs, every tampered byte refused,
// padding lengths, signatures bound to the recipient, hostile inputs rejected (PROTOCOL §1–2).
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_OVERHEAD_BYTES,
  MIN_CIPHERTEXT_BYTES,
  concatBytes,
  deriveAgentKeys,
  fromB64u,
  generateSeed,
  openMessage,
  padLen,
  sealMessage,
  sha256Hex,
  toB64u,
  utf8,
  type AgentKeys,
  type JsonValue,
} from '../src/index.js';
import { sha512 } from '../src/crypto/primitives.js';

interface Party {
  id: string;
  seed: Uint8Array;
  keys: AgentKeys;
  boxSecretKey: Uint8Array;
}

function party(id: string, seed = generateSeed()): Party {
  return {
    id,
    seed,
    keys: deriveAgentKeys(seed),
    boxSecretKey: sha512(concatBytes(utf8('deaddrop/box/v1'), seed)).slice(0, 32),
  };
}

const alice = party('alice');
const bob = party('bob');
const carol = party('carol');

function seal(from: Party, to: Party, body: JsonValue, overrides = {}) {
  return sealMessage(
    { from: from.id, sender: from.keys, to: to.id, recipient: to.keys, body },
    overrides,
  );
}

function decode(ciphertext: string): Uint8Array {
  const bytes = fromB64u(ciphertext);
  if (bytes === null) throw new Error('not b64u');
  return bytes;
}

const jsonBody = fc
  .jsonValue({ maxDepth: 3 })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);

describe('seal and open', () => {
  it('round-trips any JSON body and equals tweetnacl byte for byte', () => {
    fc.assert(
      fc.property(
        jsonBody,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        (body, ephemeralSecretKey, nonce) => {
          const sealed = seal(alice, bob, body, { ephemeralSecretKey, nonce });
          const opened = openMessage(sealed.ciphertext, 'bob', bob.keys);
          expect(opened.ok && opened.message.body).toEqual(body);

          // The reference: nacl.box over the same plaintext, ephemeral key and nonce.
          const envelope = decode(sealed.ciphertext);
          const ephemeral = nacl.box.keyPair.fromSecretKey(ephemeralSecretKey);
          expect(envelope.subarray(1, 33)).toEqual(ephemeral.publicKey);
          const plain = nacl.box.open(
            envelope.subarray(57),
            nonce,
            ephemeral.publicKey,
            bob.boxSecretKey,
          );
          expect(plain).not.toBeNull();
          if (plain === null) return;
          expect(nacl.box(plain, nonce, bob.keys.boxPublicKey, ephemeralSecretKey)).toEqual(
            envelope.subarray(57),
          );

          // The signature inside is tweetnacl's deterministic Ed25519 signature.
          const innerLength = new DataView(plain.buffer, plain.byteOffset).getUint32(0);
          const inner = plain.subarray(4, 4 + innerLength);
          const signature = plain.subarray(4 + innerLength, 4 + innerLength + 64);
          const signed = concatBytes(
            utf8('deaddrop/msg/v1'),
            new Uint8Array([0]),
            bob.keys.boxPublicKey,
            inner,
          );
          expect(signature).toEqual(
            nacl.sign.detached(signed, nacl.sign.keyPair.fromSeed(alice.seed).secretKey),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('derives the same keys as tweetnacl for any seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const keys = deriveAgentKeys(seed);
        expect(keys.signPublicKey).toEqual(nacl.sign.keyPair.fromSeed(seed).publicKey);
        const boxSecret = nacl.hash(concatBytes(utf8('deaddrop/box/v1'), seed)).slice(0, 32);
        expect(keys.boxPublicKey).toEqual(nacl.box.keyPair.fromSecretKey(boxSecret).publicKey);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses every flipped byte', () => {
    const sealed = seal(alice, bob, { task: 'tamper me' });
    const envelope = decode(sealed.ciphertext);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: envelope.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (index, mask) => {
          const tampered = Uint8Array.from(envelope);
          tampered[index] = (tampered[index] ?? 0) ^ mask;
          const opened = openMessage(toB64u(tampered), 'bob', bob.keys);
          expect(opened.ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pads to the NIP-44 length and adds the documented overhead', () => {
    for (const size of [0, 1, 50, 200, 1000, 1024, 5000, 70_000]) {
      const body = 'x'.repeat(size);
      const sealed = seal(alice, bob, body);
      const innerLength = utf8(
        JSON.stringify({
          v: 1,
          id: 'AAAAAAAAAAAAAAAAAAAAAA',
          kind: 'message',
          from: 'alice',
          fromKey: alice.keys.agentKey,
          to: 'bob',
          sentAt: 1_764_000_000_000,
          body,
        }),
      ).length;
      expect(sealed.bytes).toBe(1 + 32 + 24 + 16 + padLen(4 + innerLength + 64));
    }
    expect(ENVELOPE_OVERHEAD_BYTES).toBe(141);
    expect(MIN_CIPHERTEXT_BYTES).toBe(169);
  });

  it('refuses padding that is not zeros', () => {
    const { envelope, plain, nonce, ephemeralSecretKey } = sealFixed(bob, 7);
    const dirty = Uint8Array.from(plain);
    dirty[dirty.length - 1] = 1;
    const forged = concatBytes(
      envelope.subarray(0, 57),
      nacl.box(dirty, nonce, bob.keys.boxPublicKey, ephemeralSecretKey),
    );
    expect(openMessage(toB64u(forged), 'bob', bob.keys)).toEqual({
      ok: false,
      reason: 'bad-padding',
    });
  });
});

/** A message from alice sealed with a fixed ephemeral key, and its plaintext opened by tweetnacl. */
function sealFixed(to: Party, keyByte: number) {
  const ephemeralSecretKey = new Uint8Array(32).fill(keyByte);
  const sealed = seal(alice, to, 'fixed', {
    ephemeralSecretKey,
    nonce: new Uint8Array(24).fill(keyByte + 1),
  });
  const envelope = decode(sealed.ciphertext);
  const nonce = envelope.subarray(33, 57);
  const ephemeral = nacl.box.keyPair.fromSecretKey(ephemeralSecretKey);
  const plain = nacl.box.open(envelope.subarray(57), nonce, ephemeral.publicKey, to.boxSecretKey);
  if (plain === null) throw new Error('reference open failed');
  return { envelope, plain, nonce, ephemeralSecretKey };
}

describe('binding', () => {
  it('binds the signature to the recipient key: a re-boxed message fails for another recipient', () => {
    const { envelope, plain, nonce, ephemeralSecretKey } = sealFixed(bob, 3);
    // Bob (or anyone who can read it) forwards the same signed plaintext to carol.
    const forwarded = concatBytes(
      envelope.subarray(0, 57),
      nacl.box(plain, nonce, carol.keys.boxPublicKey, ephemeralSecretKey),
    );
    expect(openMessage(toB64u(forwarded), 'carol', carol.keys)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a message addressed to another id', () => {
    const sealed = seal(alice, bob, 'hi');
    expect(openMessage(sealed.ciphertext, 'bobby', bob.keys)).toEqual({
      ok: false,
      reason: 'wrong-recipient',
    });
  });

  it('refuses ciphertexts that are not envelopes', () => {
    const sealed = decode(seal(alice, bob, 'hi').ciphertext);
    expect(openMessage('AB', 'bob', bob.keys)).toEqual({ ok: false, reason: 'bad-encoding' });
    expect(openMessage(toB64u(sealed.subarray(0, 168)), 'bob', bob.keys)).toEqual({
      ok: false,
      reason: 'too-short',
    });
    const v2 = Uint8Array.from(sealed);
    v2[0] = 2;
    expect(openMessage(toB64u(v2), 'bob', bob.keys)).toEqual({ ok: false, reason: 'bad-version' });
    expect(openMessage(seal(alice, bob, 'x').ciphertext, 'carol', carol.keys)).toEqual({
      ok: false,
      reason: 'decrypt-failed',
    });
  });

  it('gives a different ciphertext for the same message every time', () => {
    const a = seal(alice, bob, 'same');
    const b = seal(alice, bob, 'same');
    expect(sha256Hex(a.ciphertext)).not.toBe(sha256Hex(b.ciphertext));
  });
});
