// The v1.1 inner document (PROTOCOL §6, §7): sealMessage writes the known answers of v1.1.json
// byte for byte, receivers accept them, and every malformed v1.1 field is bad-inner.
import { describe, expect, it } from 'vitest';
import v1 from './fixtures/vectors-v1.json' with { type: 'json' };
import v11 from './fixtures/vectors-v1.1.json' with { type: 'json' };
import {
  deriveAgentKeys,
  fromB64u,
  innerMessageSchema,
  openMessage,
  sealInnerBytes,
  sealMessage,
  toB64u,
  utf8,
  type AgentKeys,
  type SealInput,
} from '../src/index.js';

function bytes(text: string): Uint8Array {
  const value = fromB64u(text);
  if (value === null) throw new Error(`fixture is not b64u: ${text}`);
  return value;
}

const keysOf = new Map<string, AgentKeys>(
  v1.identities.map((identity) => [identity.agentId, deriveAgentKeys(bytes(identity.seed))]),
);
function keys(agentId: string): AgentKeys {
  const found = keysOf.get(agentId);
  if (found === undefined) throw new Error(`no identity ${agentId}`);
  return found;
}

const fixedEnvelope = {
  ephemeralSecretKey: new Uint8Array(32).fill(7),
  nonce: new Uint8Array(24).fill(9),
};

describe('v1.1 inner documents (vectors)', () => {
  it.each(v11.innerMessages)('writes $kind $id exactly as the vector', (vector) => {
    const inner = innerMessageSchema.parse(vector);
    const input: SealInput = {
      ...inner,
      sender: keys(inner.from),
      recipient: keys(inner.to),
      body: inner.body,
    };
    const sealed = sealMessage(input, { id: inner.id, sentAt: inner.sentAt, ...fixedEnvelope });
    // Same signing key, ephemeral key and nonce: equal ciphertexts mean equal inner bytes.
    const expected = sealInnerBytes(
      utf8(JSON.stringify(vector)),
      { sender: keys(inner.from), recipient: keys(inner.to) },
      fixedEnvelope,
    );
    expect(sealed.ciphertext).toBe(expected.ciphertext);

    const opened = openMessage(sealed.ciphertext, inner.to, keys(inner.to));
    expect(opened.ok && opened.message).toEqual(vector);
  });
});

const alice = keys('alice');
const bob = keys('bob');

/** A valid inner document from alice to bob, with `changes` applied (undefined deletes). */
function innerJson(changes: Record<string, unknown>): Uint8Array {
  const inner: Record<string, unknown> = {
    v: 1,
    id: toB64u(new Uint8Array(16).fill(1)),
    kind: 'message',
    from: 'alice',
    fromKey: alice.agentKey,
    to: 'bob',
    sentAt: 1_764_000_000_000,
    body: 'hi',
    ...changes,
  };
  return utf8(JSON.stringify(inner));
}

function open(changes: Record<string, unknown>) {
  const sealed = sealInnerBytes(innerJson(changes), { sender: alice, recipient: bob });
  return openMessage(sealed.ciphertext, 'bob', bob);
}

const uid = toB64u(new Uint8Array(16).fill(2));
const file = { contentType: 'application/pdf', body: 'JVBERi0' };

describe('v1.1 fields a receiver refuses (bad-inner)', () => {
  it('accepts each field well-formed', () => {
    for (const good of [
      file,
      { ...file, filename: 'report.pdf' },
      { ...file, filename: 'ünïcödé ☃.txt' },
      { contentType: 'text/plain; charset=utf-8', body: '' },
      { contentType: 'multipart/mixed; boundary="a b;c"', body: 'AA' },
      { replyTo: uid, threadId: uid },
      { group: { id: uid, members: ['alice', 'bob'] } },
      { receipt: true },
      { kind: 'receipt', body: { of: [uid], status: 'delivered' } },
    ]) {
      expect(open(good).ok, JSON.stringify(good)).toBe(true);
    }
  });

  it('refuses each malformed field, and the combinations §6 rules out', () => {
    for (const bad of [
      { contentType: 'pdf', body: 'AA' },
      { contentType: 'text/plain extra', body: 'AA' },
      { contentType: 'text/plain;charset', body: 'AA' },
      { contentType: `text/${'x'.repeat(123)}`, body: 'AA' },
      { contentType: 'text/plain\n', body: 'AA' },
      { contentType: 'application/pdf', body: 'not b64u!' },
      { contentType: 'application/pdf', body: 'AB' }, // not canonical: unused bits set
      { contentType: 'application/pdf', body: { x: 1 } },
      { filename: 'x.txt' }, // filename without contentType
      { ...file, filename: '../x' },
      { ...file, filename: 'a\\b' },
      { ...file, filename: 'a\0b' },
      { ...file, filename: '.' },
      { ...file, filename: '..' },
      { ...file, filename: '' },
      { ...file, filename: 'x'.repeat(256) },
      { ...file, filename: 'é'.repeat(128) }, // 256 bytes in 128 characters
      { replyTo: 'not-a-uid' },
      { threadId: 42 },
      { group: { id: uid, members: ['alice'] } },
      { group: { id: uid, members: ['alice', 'carol'] } }, // recipient not a member
      { group: { id: uid, members: ['bob', 'carol'] } }, // sender not a member
      { group: { id: uid, members: ['alice', 'bob', 'bob'] } },
      { group: { id: 'short', members: ['alice', 'bob'] } },
      {
        group: {
          id: uid,
          members: ['alice', 'bob', ...Array.from({ length: 99 }, (_, i) => `m${i}`)],
        },
      },
      { receipt: false },
      { receipt: 'yes' },
      { kind: 'receipt', body: 'delivered' },
      { kind: 'receipt', body: { of: [], status: 'delivered' } },
      { kind: 'receipt', body: { of: ['x'], status: 'delivered' } },
      { kind: 'receipt', body: { of: [uid], status: 'read' } },
      {
        kind: 'receipt',
        body: { of: Array.from({ length: 101 }, () => uid), status: 'delivered' },
      },
    ]) {
      expect(open(bad), JSON.stringify(bad).slice(0, 80)).toEqual({
        ok: false,
        reason: 'bad-inner',
      });
    }
  });

  it('lets a v1 reader see a v1.1 message as an ordinary one (unknown fields ignored)', () => {
    // A v1 reader knew v, id, kind, from, fromKey, to, sentAt, body and replyTo only.
    const v1Inner = innerMessageSchema.options[0].pick({
      v: true,
      id: true,
      kind: true,
      from: true,
      fromKey: true,
      to: true,
      sentAt: true,
      body: true,
      replyTo: true,
    });
    for (const vector of v11.innerMessages.filter((inner) => inner.kind === 'message')) {
      const parsed = v1Inner.parse(vector);
      expect(parsed).toMatchObject({ id: vector.id, from: vector.from, body: vector.body });
      expect(parsed).not.toHaveProperty('contentType');
    }
  });
});

describe('sealMessage refuses what a receiver would refuse', () => {
  const base = { from: 'alice', sender: alice, to: 'bob', recipient: bob };
  it.each([
    [{ body: 'x', filename: 'a.txt' }, /filename needs a contentType/],
    [{ body: 'not b64u', contentType: 'text/plain' }, /canonical base64url/],
    [{ body: 'AA', contentType: 'text/plain', filename: '../etc' }, /filename/],
    [{ body: 'x', contentType: 'nonsense' }, /MIME type/],
    [{ body: 'x', group: { id: uid, members: ['alice', 'carol'] } }, /group/],
    [{ body: 'x', kind: 'receipt' as const }, /body/],
  ])('%j', (fields, message) => {
    expect(() => sealMessage({ ...base, ...fields })).toThrow(message);
  });

  it('leaves out `receipt` unless it is true', () => {
    const sealed = sealMessage({ ...base, body: 'x', receipt: false }, fixedEnvelope);
    const opened = openMessage(sealed.ciphertext, 'bob', bob);
    expect(opened.ok && opened.message).not.toHaveProperty('receipt');
  });
});
