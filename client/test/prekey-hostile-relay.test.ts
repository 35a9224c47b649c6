// Forward-secret sending (PROTOCOL §10) against a relay that forges its `directory.claimPrekey`
// answers. A prekey that is not the recipient's — signed by another key, a bit flipped, signed for
// another agent or another id, malformed — fails the send with PREKEY_INVALID and nothing is sent,
// not even as v1: a forged prekey is an attack to report, never a reason to downgrade. A claim the
// relay does not serve — none left, refused, garbage, too big, never answered — is a v1 send its
// recipient opens, within one send attempt's time: never a crash, a hang, or a failed send. In a
// group send a forged prekey fails only the recipient it was handed out for.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  fromB64u,
  generatePrekey,
  openMessage,
  randomBytes,
  signPrekey,
  toB64u,
  type Prekey,
} from '@deaddrop/contract';
import {
  relayFault,
  startHostileRelay,
  type CallAnswer,
  type CallContext,
  type HostileRelay,
} from '@deaddrop/test-support/hostile-relay';
import { DeadDropClient } from '../src/client.js';
import type { DeadDropClientOptions, SentMessage } from '../src/client-types.js';
import { isDeadDropError } from '../src/errors.js';
import { createIdentity } from '../src/keystore.js';

const REQUEST_TIMEOUT_MS = 4_000;
const ATTEMPT_TIMEOUT_MS = 1_333;
const MAX_RESPONSE_BYTES = 1024 * 1024;

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;
let carol: DeadDropClient;
/** Never registered: a key that is not bob's. */
let mallory: DeadDropClient;

async function newAgent(
  agentId: string,
  options: Partial<Omit<DeadDropClientOptions, 'identity'>> = {},
): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, agentId),
    relayUrl: relay.url,
  });
  return new DeadDropClient({ identity, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isDeadDropError(error)) return { reason: error.reason, message: error.message };
    throw new Error(`not a DeadDropError: ${String(error)}`, { cause: error });
  }
  throw new Error('expected a rejection');
}

/** Calls to `send` and `sendMany` so far, whoever they were for. */
function sendCalls(): number {
  return relay.callsTo('send').length + relay.callsTo('sendMany').length;
}

type ClaimContext = CallContext<'directory.claimPrekey'>;

/** The prekey the honest relay hands out (spending it), for a forgery to start from. */
async function honestPrekey(call: ClaimContext): Promise<Prekey> {
  const honest = await call.honest();
  if (!('data' in honest) || honest.data.prekey === null)
    throw new Error('the honest relay had no prekey to hand out');
  return honest.data.prekey;
}

/** Answers every claim with `forge(the honest prekey)`: any value, as a hostile relay may. */
function forgeClaims(forge: (honest: Prekey) => unknown): void {
  relay.misbehave('directory.claimPrekey', async (call) => ({
    data: { prekey: forge(await honestPrekey(call)), remaining: 10 },
  }));
}

function flipBit(text: string, byte: number): string {
  const bytes = fromB64u(text);
  if (bytes === null) throw new Error(`not b64u: ${text}`);
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  return toB64u(bytes);
}

/** The ciphertext the relay stored for `sent`, opened with the recipient's identity key (v1). */
function openStored(recipient: DeadDropClient, sent: SentMessage) {
  const stored = relay.mailbox(recipient.agentId).find((message) => message.id === sent.id);
  if (stored === undefined) throw new Error(`${sent.id} is not in ${recipient.agentId}'s mailbox`);
  return openMessage(stored.ciphertext, recipient.agentId, recipient.identity.keys);
}

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-prekey-hostile-')),
  ]);
  [alice, bob, carol, mallory] = await Promise.all([
    newAgent('alice', {
      // The defaults scaled down 7.5 times: request timeout = the whole send's budget, 1/3 per attempt.
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      sendRetry: {
        attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
        totalTimeoutMs: REQUEST_TIMEOUT_MS,
        baseDelayMs: 10,
        maxDelayMs: 50,
      },
      maxResponseBytes: MAX_RESPONSE_BYTES,
    }),
    newAgent('bob'),
    newAgent('carol'),
    newAgent('mallory'),
  ]);
  await Promise.all([alice.register(), bob.register(), carol.register()]);
  // Alice pins bob and carol (first contact), forward secret already.
  for (const recipient of [bob, carol]) {
    const sent = await alice.sendMessage({ to: recipient.agentId, message: 'first contact' });
    expect(sent).toMatchObject({ pinChange: 'new', forwardSecret: true });
  }
});

afterAll(async () => {
  for (const client of [alice, bob, carol, mallory]) client.close();
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

afterEach(() => {
  relay.behaveHonestly();
});

describe('a forged prekey for a pinned recipient', () => {
  const zeroKey = toB64u(new Uint8Array(32));
  it.each<[string, (honest: Prekey) => unknown]>([
    ['signed by another key', () => generatePrekey('bob', mallory.identity.keys).prekey],
    [
      'with one bit of its signature flipped',
      (honest) => ({ ...honest, sig: flipBit(honest.sig, 10) }),
    ],
    ['with one bit of its key flipped', (honest) => ({ ...honest, key: flipBit(honest.key, 0) })],
    ['signed by bob for another agent', () => generatePrekey('carol', bob.identity.keys).prekey],
    [
      'with another id than the one signed',
      (honest) => ({ ...honest, id: toB64u(randomBytes(8)) }),
    ],
    [
      'with another of bob’s keys than the one signed',
      (honest) => ({ ...honest, key: generatePrekey('bob', bob.identity.keys).prekey.key }),
    ],
    [
      'signed by bob but of small order (all zero)',
      (honest) => ({
        ...honest,
        key: zeroKey,
        sig: signPrekey('bob', honest.id, zeroKey, bob.identity.keys),
      }),
    ],
    ['whose key is 31 bytes', (honest) => ({ ...honest, key: toB64u(randomBytes(31)) })],
    ['whose key is 33 bytes', (honest) => ({ ...honest, key: toB64u(randomBytes(33)) })],
    ['whose key is not base64url', (honest) => ({ ...honest, key: `+${honest.key.slice(1)}` })],
    ['whose key is padded base64', (honest) => ({ ...honest, key: `${honest.key}=` })],
    ['whose id is 7 bytes', (honest) => ({ ...honest, id: toB64u(randomBytes(7)) })],
    ['whose id is not base64url', (honest) => ({ ...honest, id: '../../../x' })],
    ['whose id is empty', (honest) => ({ ...honest, id: '' })],
    ['whose signature is 63 bytes', (honest) => ({ ...honest, sig: toB64u(randomBytes(63)) })],
    ['whose id is a number', (honest) => ({ ...honest, id: 12345 })],
    ['without a signature', ({ id, key }) => ({ id, key })],
    ['that is a string', (honest) => `${honest.id} ${honest.key} ${honest.sig}`],
    ['that is an array', (honest) => [honest.id, honest.key, honest.sig]],
  ])('is PREKEY_INVALID, nothing sent: a prekey %s', async (_, forge) => {
    forgeClaims(forge);
    const [sends, stored] = [sendCalls(), relay.mailbox('bob').length];
    const refused = await rejection(alice.sendMessage({ to: 'bob', message: 'secret' }));
    expect(refused.reason).toBe('PREKEY_INVALID');
    expect(refused.message).toContain('nothing was sent');
    expect(sendCalls()).toBe(sends);
    expect(relay.mailbox('bob')).toHaveLength(stored);
  });

  it('is PREKEY_INVALID when it is a valid prekey of another agent (bob’s, handed out for carol)', async () => {
    forgeClaims(() => generatePrekey('bob', bob.identity.keys).prekey);
    const sends = sendCalls();
    expect((await rejection(alice.sendMessage({ to: 'carol', message: 'x' }))).reason).toBe(
      'PREKEY_INVALID',
    );
    expect(sendCalls()).toBe(sends);
  });

  it('leaves the pin as it was, and the next honest claim sends forward secret', async () => {
    const pin = alice.pins().get('bob');
    forgeClaims(() => generatePrekey('bob', mallory.identity.keys).prekey);
    await rejection(alice.sendMessage({ to: 'bob', message: 'x' }));
    expect(alice.pins().get('bob')).toEqual(pin);
    relay.behaveHonestly();
    await expect(alice.sendMessage({ to: 'bob', message: 'honest again' })).resolves.toMatchObject({
      forwardSecret: true,
    });
  });
});

describe('a claim answered with no prekey left', () => {
  it('falls back to v1: sent, forwardSecret false, and bob opens it with his identity key', async () => {
    relay.misbehave('directory.claimPrekey', () => ({ data: { prekey: null, remaining: 0 } }));
    const sends = sendCalls();
    const sent = await alice.sendMessage({ to: 'bob', message: 'no prekey left' });
    expect(sent.forwardSecret).toBe(false);
    expect(sendCalls()).toBe(sends + 1);
    const opened = openStored(bob, sent);
    expect(opened).toMatchObject({ ok: true, message: { from: 'alice', body: 'no prekey left' } });
  });
});

/** The claim envelope as the relay writes one, `json` being raw JSON text. */
function rawClaim(json: string): CallAnswer {
  return { raw: { status: 200, body: `{"result":{"data":{"json":${json}}}}` } };
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** Sends to bob and checks it went as v1: one claim, one send, and bob opens it with his key. */
async function sendsAsV1(message: string): Promise<SentMessage> {
  const [claims, sends] = [relay.callsTo('directory.claimPrekey').length, sendCalls()];
  const sent = await alice.sendMessage({ to: 'bob', message });
  expect(sent.forwardSecret).toBe(false);
  // The claim is not retried: it only decides between v2 and v1.
  expect(relay.callsTo('directory.claimPrekey')).toHaveLength(claims + 1);
  expect(sendCalls()).toBe(sends + 1);
  expect(openStored(bob, sent)).toMatchObject({
    ok: true,
    message: { from: 'alice', body: message },
  });
  return sent;
}

describe('a claim the relay does not serve', () => {
  it.each<[string, () => CallAnswer]>([
    ['500 INTERNAL', () => ({ error: relayFault('INTERNAL') })],
    ['503 STORE_UNAVAILABLE', () => ({ error: relayFault('STORE_UNAVAILABLE') })],
    [
      '429 RATE_LIMITED for a minute',
      () => ({ error: relayFault('RATE_LIMITED', undefined, { retryAfterMs: 60_000 }) }),
    ],
    ['AGENT_NOT_FOUND (bob is in the directory)', () => ({ error: relayFault('AGENT_NOT_FOUND') })],
    [
      'the 404 of a relay from before prekeys',
      () => ({
        error: {
          code: 'NOT_FOUND',
          httpStatus: 404,
          reason: 'BAD_INPUT',
          message: 'No procedure found on path "directory.claimPrekey"',
        },
      }),
    ],
    [
      'an error of no known reason or code',
      () => ({ error: { code: 'TEAPOT', httpStatus: 418, reason: 'TEAPOT', message: 'short' } }),
    ],
    ['200 and a body that is not JSON', () => ({ raw: { status: 200, body: '{"result":{"da' } })],
    [
      '502 and a proxy’s HTML page',
      () => ({ raw: { status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' } }),
    ],
    ['200 and no body', () => ({ raw: { status: 200, body: '' } })],
    ['data that is a string', () => ({ data: 'garbage' })],
    ['a negative count left', () => ({ data: { prekey: null, remaining: -1 } })],
    ['no prekey field', () => ({ data: { remaining: 3 } })],
  ])('is a v1 send bob opens: %s', async (_, answer) => {
    relay.misbehave('directory.claimPrekey', answer);
    await sendsAsV1('claim refused');
  });

  it.each<[string, CallAnswer]>([
    ['never answered', { hang: true }],
    ['answered forever, a byte at a time', { trickle: { intervalMs: 100 } }],
  ])(
    'is a v1 send within one attempt’s time when %s, leaving the send its budget',
    async (_, answer) => {
      relay.misbehave('directory.claimPrekey', () => answer);
      const started = Date.now();
      await sendsAsV1('claim held');
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(ATTEMPT_TIMEOUT_MS - 50);
      expect(took).toBeLessThan(REQUEST_TIMEOUT_MS);
    },
  );
});

describe('a huge or deeply nested claim answer', () => {
  it('past the client’s size bound is a v1 send bob opens', async () => {
    relay.misbehave('directory.claimPrekey', () => ({
      data: { prekey: null, remaining: 1, padding: 'x'.repeat(4 * MAX_RESPONSE_BYTES) },
    }));
    await sendsAsV1('huge answer');
  });

  it('with 100,000 nested arrays for a count is a v1 send bob opens', async () => {
    relay.misbehave('directory.claimPrekey', () =>
      rawClaim(`{"prekey":null,"remaining":${nested(100_000)}}`),
    );
    await sendsAsV1('deep count');
  });

  it.each<[string, () => CallAnswer]>([
    ['100,000 nested arrays', () => rawClaim(`{"prekey":${nested(100_000)},"remaining":1}`)],
    [
      '100,000 nested objects',
      () => rawClaim(`{"prekey":${'{"id":'.repeat(100_000)}1${'}'.repeat(100_000)},"remaining":1}`),
    ],
    [
      'fields of 300 KiB each',
      () => {
        const long = 'A'.repeat(300 * 1024);
        return { data: { prekey: { id: long, key: long, sig: long }, remaining: 1 } };
      },
    ],
  ])('as the prekey (%s) is PREKEY_INVALID, nothing sent', async (_, answer) => {
    relay.misbehave('directory.claimPrekey', answer);
    const sends = sendCalls();
    expect((await rejection(alice.sendMessage({ to: 'bob', message: 'x' }))).reason).toBe(
      'PREKEY_INVALID',
    );
    expect(sendCalls()).toBe(sends);
  });
});

describe('a group send with a forged prekey for one recipient', () => {
  it.each<[string, (honest: Prekey) => unknown]>([
    ['signed by another key', () => generatePrekey('bob', mallory.identity.keys).prekey],
    ['whose key is 31 bytes', (honest) => ({ ...honest, key: toB64u(randomBytes(31)) })],
  ])('fails that recipient alone with PREKEY_INVALID (a prekey %s)', async (_, forge) => {
    relay.misbehave('directory.claimPrekey', async (call) => {
      const { agentId } = call.input as { agentId?: unknown };
      if (agentId !== 'bob') return { honest: true };
      return { data: { prekey: forge(await honestPrekey(call)), remaining: 10 } };
    });
    const [bobStored, sendMany] = [relay.mailbox('bob').length, relay.callsTo('sendMany').length];
    const sent = await alice.sendMessage({ to: ['bob', 'carol'], message: 'to the group' });
    expect(sent.results).toMatchObject([
      { to: 'bob', ok: false, error: { reason: 'PREKEY_INVALID' } },
      { to: 'carol', ok: true, sent: { forwardSecret: true } },
    ]);
    // One sendMany, carrying carol's copy alone.
    const calls = relay.callsTo('sendMany').slice(sendMany);
    expect(calls.map((call) => call.input)).toMatchObject([{ items: [{ to: 'carol' }] }]);
    expect(relay.mailbox('bob')).toHaveLength(bobStored);
    const entries = await carol.pollAndDecrypt();
    expect(entries.at(-1)).toMatchObject({
      from: 'alice',
      verified: true,
      forwardSecret: true,
      body: 'to the group',
    });
  });
});
