// Hostile keys, encodings and signatures (PROTOCOL §1, "Encodings").
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  createProof,
  decodeAuthorization,
  deriveAgentKeys,
  encodeAuthorization,
  formatAgentKey,
  fromB64u,
  generateSeed,
  isCanonicalB64u,
  parseAgentKey,
  toB64u,
  verifyProofSignature,
} from '../src/index.js';
import { isStrongEd25519PublicKey } from '../src/crypto/ed25519-point.js';
import { isStrongX25519PublicKey, verifyDetached } from '../src/crypto/primitives.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const good = deriveAgentKeys(generateSeed());

// Ed25519 encodings of small-order points (the 8-torsion), and non-canonical encodings (y ≥ p).
const weakSignKeys = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0, order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = -1, order 2
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (non-canonical 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1
  '0000000000000000000000000000000000000000000000000000000000000080', // x = 0 with the sign bit set
];
// X25519 u-coordinates for which X25519 yields the all-zero secret.
const weakBoxKeys = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

describe('agent keys', () => {
  it('accepts every honestly generated key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        expect(parseAgentKey(deriveAgentKeys(seed).agentKey)).not.toBeNull();
      }),
      { numRuns: 50 },
    );
  });

  it.each(weakSignKeys)('refuses the weak or non-canonical signing key %s', (key) => {
    expect(isStrongEd25519PublicKey(hex(key))).toBe(false);
    expect(parseAgentKey(formatAgentKey(hex(key), good.boxPublicKey))).toBeNull();
  });

  it.each(weakBoxKeys)('refuses the small-order box key %s', (key) => {
    expect(isStrongX25519PublicKey(hex(key))).toBe(false);
    expect(parseAgentKey(formatAgentKey(good.signPublicKey, hex(key)))).toBeNull();
  });

  it('refuses malformed agent key strings', () => {
    const body = good.agentKey.slice(5);
    for (const text of [
      '',
      'ddk1_',
      `ddk2_${body}`,
      `ddk1_${body}=`,
      `ddk1_${body.slice(1)}`,
      `DDK1_${body}`,
      `ddk1_${body.replace(/[A-Z]/, '+')}`,
    ]) {
      expect(parseAgentKey(text)).toBeNull();
    }
  });
});

describe('b64u', () => {
  it('accepts exactly the canonical unpadded base64url strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const text = toB64u(bytes);
        expect(fromB64u(text)).toEqual(bytes);
      }),
    );
    for (const bad of ['A', 'AB', 'AAB', 'AA==', 'AA=', 'a+b/', 'AAA ', 'AA\n', 'Zm9vYmFy=']) {
      expect({ bad, canonical: isCanonicalB64u(bad), decoded: fromB64u(bad) }).toEqual({
        bad,
        canonical: false,
        decoded: null,
      });
    }
  });
});

describe('signatures', () => {
  it('refuses a non-canonical signature (S ≥ L) that tweetnacl alone accepts', () => {
    const seed = generateSeed();
    const keys = deriveAgentKeys(seed);
    const proof = createProof({ relayId: 'r', agentId: 'alice', keys, scope: 'poll' });
    const sig = fromB64u(proof.sig);
    if (sig === null) throw new Error('bad sig');
    // S + L, little-endian, in the second half of the signature.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] ?? 0);
    let malleable = s + L;
    const forged = Uint8Array.from(sig);
    for (let i = 32; i < 64; i++) {
      forged[i] = Number(malleable & 0xffn);
      malleable >>= 8n;
    }
    const message = new TextEncoder().encode(
      ['deaddrop/auth/v1', 'r', 'alice', String(proof.ts), proof.nonce, 'poll'].join('\0'),
    );
    expect(nacl.sign.detached.verify(message, forged, keys.signPublicKey)).toBe(true);
    expect(verifyDetached(keys.verifyKey, message, forged)).toBe(false);
    expect(verifyProofSignature('r', { ...proof, sig: toB64u(forged) }, keys.verifyKey)).toBe(
      false,
    );
    expect(verifyProofSignature('r', proof, keys.verifyKey)).toBe(true);
  });

  it('decodes only well-formed authorization values', () => {
    const keys = deriveAgentKeys(generateSeed());
    const proof = createProof({ relayId: 'r', agentId: 'alice', keys, scope: 'stats' });
    const header = encodeAuthorization(proof);
    expect(decodeAuthorization(header)).toEqual(proof);
    for (const bad of [
      undefined,
      '',
      'DeadDrop',
      'deaddrop ' + header.slice(9),
      `Bearer ${header.slice(9)}`,
      `${header}=`,
      `DeadDrop ${'A'.repeat(5000)}`,
    ]) {
      expect(decodeAuthorization(bad)).toBeNull();
    }
  });
});
