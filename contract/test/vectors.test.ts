// Known answers computed with libsodium (PyNaCl), independent of our code (PROTOCOL "vectors").
import { describe, expect, it } from 'vitest';
import vectors from './fixtures/vectors-v1.json' with { type: 'json' };
import {
  createProof,
  decodeAuthorization,
  deriveAgentKeys,
  encodeAuthorization,
  fingerprint,
  fromB64u,
  openMessage,
  padLen,
  parseAgentKey,
  sealMessage,
  signRegistration,
  toB64u,
  verifyProofSignature,
  verifyRegistrationSignature,
  type InnerMessage,
} from '../src/index.js';

function bytes(text: string): Uint8Array {
  const value = fromB64u(text);
  if (value === null) throw new Error(`fixture is not b64u: ${text}`);
  return value;
}

const identities = new Map(
  vectors.identities.map((identity) => [
    identity.agentId,
    { identity, keys: deriveAgentKeys(bytes(identity.seed)) },
  ]),
);
function agent(agentId: string) {
  const found = identities.get(agentId);
  if (found === undefined) throw new Error(`no identity ${agentId}`);
  return found;
}

describe('identities', () => {
  it.each(vectors.identities)('derives $agentId from its seed', (identity) => {
    const keys = deriveAgentKeys(bytes(identity.seed));
    expect(toB64u(keys.signPublicKey)).toBe(identity.signPublicKey);
    expect(toB64u(keys.boxPublicKey)).toBe(identity.boxPublicKey);
    expect(keys.agentKey).toBe(identity.agentKey);
    expect(keys.agentKey).toHaveLength(91);
    expect(fingerprint(keys)).toBe(identity.fingerprint);
    expect(parseAgentKey(identity.agentKey)?.agentKey).toBe(identity.agentKey);
  });
});

describe('padLen', () => {
  it.each(vectors.padLen)('padLen(%i) = %i', (n, expected) => {
    expect(padLen(n)).toBe(expected);
  });
});

describe('envelopes', () => {
  it.each(vectors.envelopes)('seals $sender → $recipient to the exact ciphertext', (vector) => {
    const sender = agent(vector.sender);
    const recipient = agent(vector.recipient);
    const inner = JSON.parse(vector.innerJson) as InnerMessage;
    const sealed = sealMessage(
      {
        from: inner.from,
        sender: sender.keys,
        to: inner.to,
        recipient: recipient.keys,
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
    expect(sealed.bytes).toBe(1 + 32 + 24 + 16 + vector.paddedLength);
  });

  it.each(vectors.envelopes)('opens $sender → $recipient and checks the signature', (vector) => {
    const recipient = agent(vector.recipient);
    const opened = openMessage(vector.ciphertext, vector.recipient, recipient.keys);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.message).toEqual(JSON.parse(vector.innerJson));
    expect(opened.senderKey.agentKey).toBe(agent(vector.sender).identity.agentKey);
  });
});

describe('auth proofs', () => {
  it.each(vectors.authProofs)(
    'signs and encodes the $proof.scope proof',
    ({ relayId, proof, header }) => {
      const signer = agent(proof.agentId);
      const made = createProof({
        relayId,
        agentId: proof.agentId,
        keys: signer.keys,
        scope: proof.scope,
        ts: proof.ts,
        nonce: proof.nonce,
      });
      expect(made).toEqual(proof);
      expect(encodeAuthorization(made)).toBe(header);
      const decoded = decodeAuthorization(header);
      expect(decoded).toEqual(proof);
      if (decoded === null) return;
      expect(verifyProofSignature(relayId, decoded, signer.keys.verifyKey)).toBe(true);
      expect(verifyProofSignature('another-relay', decoded, signer.keys.verifyKey)).toBe(false);
    },
  );
});

describe('registrations', () => {
  it.each(vectors.registrations)('signs the registration of $agentId', (registration) => {
    const signer = agent(registration.agentId);
    const made = signRegistration({
      relayId: registration.relayId,
      agentId: registration.agentId,
      keys: signer.keys,
      ts: registration.ts,
    });
    expect(made).toEqual({
      agentId: registration.agentId,
      agentKey: registration.agentKey,
      ts: registration.ts,
      sig: registration.sig,
    });
    expect(
      verifyRegistrationSignature(registration.relayId, registration, signer.keys.verifyKey),
    ).toBe(true);
  });
});
