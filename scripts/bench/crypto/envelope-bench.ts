// Seal and open at one body size: our envelope (sealMessage / openMessage), its v2 form sealed to a
// one-time prekey (sealMessageV2 / openMessageV2, PROTOCOL §10), the same envelope on
// libsodium and on tweetnacl (each checked to interoperate with ours before it is timed), and plain
// crypto_box_seal of the raw body for reference.
import sodium from 'libsodium-wrappers';
import nacl from 'tweetnacl';
import {
  fromB64u,
  generatePrekey,
  openMessage,
  openMessageV2,
  sealMessage,
  sealMessageV2,
  toB64u,
  type AgentKeys,
} from '@deaddrop/contract';
import { makeEnvelope, type Envelope, type EnvelopeKeys } from './envelope-design.js';
import { libsodiumPrimitives, tweetnaclPrimitives } from './library-primitives.js';
import { check, measureRate } from './measure-rate.js';

export interface SealOpenRates {
  readonly seal: number;
  readonly open: number;
  readonly sealOpen: number;
}

export interface EnvelopeBenchResult {
  readonly bodyBytes: number;
  readonly ours: SealOpenRates;
  /** Envelope v2: boxed to a prekey, opened with its secret (imported per message, as a recipient does). */
  readonly oursV2: SealOpenRates;
  readonly libsodiumEnvelope: SealOpenRates;
  readonly tweetnaclEnvelope: SealOpenRates;
  readonly libsodiumBoxSeal: { readonly seal: number; readonly open: number };
  readonly ratios: {
    readonly sealOpenVsLibsodium: number;
    readonly sealOpenVsTweetnacl: number;
    /** v2 seal+open per second over v1's. */
    readonly sealOpenV2VsV1: number;
  };
}

/** Alice sends to Bob; Bob's X25519 secret as raw bytes, for the other libraries. */
export interface BenchKeys {
  readonly alice: AgentKeys;
  readonly bob: AgentKeys;
  readonly aliceSeed: Uint8Array;
  readonly bobBoxSecretKey: Uint8Array;
}

const te = new TextEncoder();

/** Our envelope, v1 and v2: seal, open and seal+open per second at one body size. */
export interface OurEnvelopeRates {
  readonly bodyBytes: number;
  readonly ours: SealOpenRates;
  /** Envelope v2: boxed to a prekey, opened with its secret (imported per message, as a recipient does). */
  readonly oursV2: SealOpenRates;
  /** v2 seal+open per second over v1's. */
  readonly sealOpenV2VsV1: number;
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/**
 * v1 (sealMessage / openMessage) and v2 to one prekey (sealMessageV2 / openMessageV2), Alice to
 * Bob: `npm run bench`'s forward-secrecy part runs this alone, without the other libraries.
 */
export function benchOurEnvelopes(
  bodyBytes: number,
  seconds: number,
  { alice, bob }: Pick<BenchKeys, 'alice' | 'bob'>,
): OurEnvelopeRates {
  const body = 'x'.repeat(bodyBytes);
  const sealInput = { from: 'alice', sender: alice, to: 'bob', recipient: bob, body };
  const rate = (fn: () => unknown): number => measureRate(fn, seconds);

  // --- v1, to Bob's identity key
  const oursOpen = (ciphertext: string): void => {
    const opened = openMessage(ciphertext, 'bob', bob);
    if (!opened.ok || opened.message.body !== body) throw new Error('ours: open failed');
  };
  const oursSample = sealMessage(sealInput).ciphertext;
  oursOpen(oursSample);
  const ours = {
    seal: rate(() => sealMessage(sealInput)),
    open: rate(() => {
      oursOpen(oursSample);
    }),
    sealOpen: rate(() => {
      oursOpen(sealMessage(sealInput).ciphertext);
    }),
  };

  // --- v2 to one prekey (a sender claims a fresh one per message; generating it is Bob's cost,
  // paid ahead, so it stays outside the loop)
  const { prekey, secretKey } = generatePrekey('bob', bob);
  const prekeySecret = { id: prekey.id, secretKey };
  const sealV2Input = { from: 'alice', sender: alice, to: 'bob', prekey, body };
  const oursV2Open = (ciphertext: string): void => {
    const opened = openMessageV2(ciphertext, 'bob', prekeySecret);
    if (!opened.ok || opened.message.body !== body) throw new Error('ours v2: open failed');
  };
  const v2Sample = sealMessageV2(sealV2Input).ciphertext;
  oursV2Open(v2Sample);
  const oursV2 = {
    seal: rate(() => sealMessageV2(sealV2Input)),
    open: rate(() => {
      oursV2Open(v2Sample);
    }),
    sealOpen: rate(() => {
      oursV2Open(sealMessageV2(sealV2Input).ciphertext);
    }),
  };
  return { bodyBytes, ours, oursV2, sealOpenV2VsV1: ratio(oursV2.sealOpen, ours.sealOpen) };
}

export function benchEnvelopes(
  bodyBytes: number,
  seconds: number,
  keys: BenchKeys,
): EnvelopeBenchResult {
  const { alice, bob, aliceSeed, bobBoxSecretKey } = keys;
  const body = 'x'.repeat(bodyBytes);
  const rate = (fn: () => unknown): number => measureRate(fn, seconds);
  const { ours, oursV2, sealOpenV2VsV1 } = benchOurEnvelopes(bodyBytes, seconds, keys);
  // A v1 envelope sealed by our code, for the other libraries' interoperability checks.
  const oursSample = sealMessage({
    from: 'alice',
    sender: alice,
    to: 'bob',
    recipient: bob,
    body,
  }).ciphertext;

  // --- the same envelope on libsodium and on tweetnacl; both must interoperate with ours
  const envelopeKeys = (signSecretKey: Uint8Array): EnvelopeKeys => ({
    sender: alice,
    senderSignSecretKey: signSecretKey,
    recipientBoxPublicKey: bob.boxPublicKey,
    recipientBoxSecretKey: bobBoxSecretKey,
  });
  const other = (envelope: Envelope, name: string): SealOpenRates => {
    const open = (ciphertext: string): void => {
      const message = envelope.open(ciphertext, 'bob');
      if (message === null || message.body !== body) throw new Error(`${name}: open failed`);
    };
    const sample = envelope.seal(body);
    open(sample);
    const ourView = openMessage(sample, 'bob', bob);
    check(ourView.ok && ourView.message.body === body, `${name} envelope opened by openMessage`);
    check(envelope.open(oursSample, 'bob')?.body === body, `sealMessage opened by ${name}`);
    check(envelope.open(sample, 'carol') === null, `${name} wrong-recipient refusal`);
    const tampered = fromB64u(sample);
    if (tampered === null) throw new Error(`${name}: not b64u`);
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1;
    check(envelope.open(toB64u(tampered), 'bob') === null, `${name} tamper refusal`);
    return {
      seal: rate(() => envelope.seal(body)),
      open: rate(() => {
        open(sample);
      }),
      sealOpen: rate(() => {
        open(envelope.seal(body));
      }),
    };
  };
  const sodiumSign = sodium.crypto_sign_seed_keypair(aliceSeed);
  const libsodiumEnvelope = other(
    makeEnvelope(libsodiumPrimitives(), envelopeKeys(sodiumSign.privateKey)),
    'libsodium',
  );
  const naclSign = nacl.sign.keyPair.fromSeed(aliceSeed);
  const tweetnaclEnvelope = other(
    makeEnvelope(tweetnaclPrimitives(), envelopeKeys(naclSign.secretKey)),
    'tweetnacl',
  );

  // --- plain sealed box of the raw body: no signature, padding, JSON or base64
  const raw = te.encode(body);
  const boxSealOpen = (sealed: Uint8Array): void => {
    const opened = sodium.crypto_box_seal_open(sealed, bob.boxPublicKey, bobBoxSecretKey);
    if (opened.length !== raw.length || sodium.compare(opened, raw) !== 0)
      throw new Error('crypto_box_seal_open failed');
  };
  const boxSample = sodium.crypto_box_seal(raw, bob.boxPublicKey);
  boxSealOpen(boxSample);
  const libsodiumBoxSeal = {
    seal: rate(() => sodium.crypto_box_seal(raw, bob.boxPublicKey)),
    open: rate(() => {
      boxSealOpen(boxSample);
    }),
  };

  return {
    bodyBytes,
    ours,
    oursV2,
    libsodiumEnvelope,
    tweetnaclEnvelope,
    libsodiumBoxSeal,
    ratios: {
      sealOpenVsLibsodium: ratio(ours.sealOpen, libsodiumEnvelope.sealOpen),
      sealOpenVsTweetnacl: ratio(ours.sealOpen, tweetnaclEnvelope.sealOpen),
      sealOpenV2VsV1,
    },
  };
}
