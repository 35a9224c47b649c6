#!/usr/bin/env node
// The crypto part of `npm run bench` (issue 5): our envelope (sealMessage / openMessage) next to the
// same envelope design built on libsodium-wrappers and on tweetnacl alone, plain crypto_box_seal for
// reference, the relay's per-request proof verification, and the envelope overhead of a 1 KiB body.
// Every loop is checked for correctness once before it is timed, then warmed up and bounded by both
// `seconds` and MAX_COUNT. Runnable alone: node scripts/bench/crypto.mjs [--seconds 2]
import { pathToFileURL } from 'node:url';
import sodiumModule from 'libsodium-wrappers';
import nacl from 'tweetnacl';
import {
  DEFAULT_LIMITS,
  ENVELOPE_VERSION,
  createProof,
  decodeAuthorization,
  deriveAgentKeys,
  encodeAuthorization,
  fromB64u,
  generateSeed,
  openMessage,
  padLen,
  parseAgentKey,
  scopeForPaths,
  sealMessage,
  toB64u,
  verifyProofSignature,
} from '@deaddrop/contract';

// CJS interop: Node hands the module object as the default export, or a namespace with `default`.
const sodium = sodiumModule.default ?? sodiumModule;

const SIZES = [1024, 65536];
const MAX_COUNT = 200_000;
const WARMUP_COUNT = 20;
const RELAY_ID = 'bench';

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const MAC_BYTES = 16;
const SIGNATURE_BYTES = 64;
const LENGTH_PREFIX_BYTES = 4;
const HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES;
const MIN_CIPHERTEXT_BYTES = HEADER_BYTES + MAC_BYTES + 96;
const AGENT_KEY_PREFIX = 'ddk1_';
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });
const SIGNATURE_DOMAIN = te.encode('deaddrop/msg/v1\0');
const BOX_KEY_DOMAIN = te.encode('deaddrop/box/v1');

/** ops/s of `fn`: warm-up, then until `seconds` elapse or MAX_COUNT runs, whichever first. */
function measure(fn, seconds) {
  const warmupUntil = performance.now() + Math.min(250, seconds * 100);
  for (let i = 0; i < WARMUP_COUNT && (i === 0 || performance.now() < warmupUntil); i++) fn();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  while (count < MAX_COUNT && performance.now() < deadline) {
    fn();
    count++;
  }
  return Math.round(count / ((performance.now() - started) / 1000));
}

function check(condition, what) {
  if (!condition) throw new Error(`crypto bench: ${what} failed its correctness check`);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function innerJson(from, fromKey, to, body, id) {
  // Same keys in the same order as sealMessage's inner document (no replyTo).
  return JSON.stringify({ v: 1, id, kind: 'message', from, fromKey, to, sentAt: Date.now(), body });
}

/** length prefix || inner || signature, zero-padded to padLen (the NIP-44 rule ours uses). */
function padPlain(inner, signature) {
  const used = LENGTH_PREFIX_BYTES + inner.length + SIGNATURE_BYTES;
  const plain = new Uint8Array(padLen(used));
  new DataView(plain.buffer).setUint32(0, inner.length);
  plain.set(inner, LENGTH_PREFIX_BYTES);
  plain.set(signature, LENGTH_PREFIX_BYTES + inner.length);
  return plain;
}

/** Splits a padded plaintext as openMessage does (length, padding size, zero padding). */
function unpadPlain(plain) {
  const innerLength = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
  const used = LENGTH_PREFIX_BYTES + innerLength + SIGNATURE_BYTES;
  if (used > plain.length || padLen(used) !== plain.length) return null;
  for (let i = used; i < plain.length; i++) if (plain[i] !== 0) return null;
  return {
    inner: plain.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + innerLength),
    signature: plain.subarray(LENGTH_PREFIX_BYTES + innerLength, used),
  };
}

/**
 * The envelope of contract/src/envelope.ts on another library: version byte || E.pk || nonce ||
 * box(len || inner || Ed25519 sig over ("deaddrop/msg/v1\0" || recipient box pk || inner) || zero
 * padding), as b64u (the contract's toB64u/fromB64u for all three, so encoding costs the same).
 * The bytes are the same as ours: a libsodium-sealed envelope opens with openMessage and back.
 * What differs from ours: open does JSON.parse plus a check of `to` instead of the zod schema, and
 * takes the sender's Ed25519 key from `fromKey` through a small cache instead of parseAgentKey
 * (which ours also caches, after validating the points once); the library primitives replace
 * node:crypto X25519/Ed25519 + tweetnacl HSalsa20/XSalsa20-Poly1305.
 */
function makeEnvelope(
  lib,
  { sender, senderSignSecretKey, recipientBoxPublicKey, recipientBoxSecretKey },
) {
  const signKeys = new Map();
  function senderSignKey(fromKey) {
    let key = signKeys.get(fromKey);
    if (key === undefined) {
      const raw = fromB64u(fromKey.slice(AGENT_KEY_PREFIX.length));
      if (!fromKey.startsWith(AGENT_KEY_PREFIX) || raw?.length !== 2 * KEY_BYTES) return null;
      key = raw.slice(0, KEY_BYTES);
      signKeys.set(fromKey, key);
    }
    return key;
  }
  return {
    seal(body) {
      const id = toB64u(lib.randomBytes(16));
      const inner = te.encode(innerJson('alice', sender.agentKey, 'bob', body, id));
      const signature = lib.sign(
        concat(SIGNATURE_DOMAIN, recipientBoxPublicKey, inner),
        senderSignSecretKey,
      );
      const plain = padPlain(inner, signature);
      const ephemeral = lib.boxKeyPair();
      const nonce = lib.randomBytes(NONCE_BYTES);
      const box = lib.box(plain, nonce, recipientBoxPublicKey, ephemeral.secretKey);
      return toB64u(concat([ENVELOPE_VERSION], ephemeral.publicKey, nonce, box));
    },
    /** The inner message, or null for anything that openMessage would refuse here. */
    open(ciphertext, recipientId) {
      const envelope = fromB64u(ciphertext);
      if (envelope === null || envelope.length < MIN_CIPHERTEXT_BYTES) return null;
      if (envelope[0] !== ENVELOPE_VERSION) return null;
      const ephemeralPublicKey = envelope.subarray(1, 1 + KEY_BYTES);
      const nonce = envelope.subarray(1 + KEY_BYTES, HEADER_BYTES);
      const plain = lib.boxOpen(
        envelope.subarray(HEADER_BYTES),
        nonce,
        ephemeralPublicKey,
        recipientBoxSecretKey,
      );
      if (plain === null) return null;
      const parts = unpadPlain(plain);
      if (parts === null) return null;
      let message;
      try {
        message = JSON.parse(td.decode(parts.inner));
      } catch {
        return null;
      }
      if (typeof message?.fromKey !== 'string') return null;
      const verifyKey = senderSignKey(message.fromKey);
      if (verifyKey === null) return null;
      const signed = concat(SIGNATURE_DOMAIN, recipientBoxPublicKey, parts.inner);
      if (!lib.verify(parts.signature, signed, verifyKey)) return null;
      return message.to === recipientId ? message : null;
    },
  };
}

const libsodiumPrimitives = () => ({
  randomBytes: (n) => sodium.randombytes_buf(n),
  sign: (message, secretKey) => sodium.crypto_sign_detached(message, secretKey),
  verify: (signature, message, publicKey) =>
    sodium.crypto_sign_verify_detached(signature, message, publicKey),
  boxKeyPair: () => {
    const { publicKey, privateKey } = sodium.crypto_box_keypair();
    return { publicKey, secretKey: privateKey };
  },
  box: (plain, nonce, publicKey, secretKey) =>
    sodium.crypto_box_easy(plain, nonce, publicKey, secretKey),
  boxOpen: (box, nonce, publicKey, secretKey) => {
    try {
      return sodium.crypto_box_open_easy(box, nonce, publicKey, secretKey);
    } catch {
      return null; // libsodium-wrappers throws on a failed MAC
    }
  },
});

const tweetnaclPrimitives = () => ({
  randomBytes: (n) => nacl.randomBytes(n),
  sign: (message, secretKey) => nacl.sign.detached(message, secretKey),
  verify: (signature, message, publicKey) =>
    nacl.sign.detached.verify(message, signature, publicKey),
  boxKeyPair: () => nacl.box.keyPair(),
  box: (plain, nonce, publicKey, secretKey) => nacl.box(plain, nonce, publicKey, secretKey),
  boxOpen: (box, nonce, publicKey, secretKey) => nacl.box.open(box, nonce, publicKey, secretKey),
});

function benchSize(bodyBytes, seconds, keys) {
  const { alice, bob, aliceSeed, bobBoxSecretKey } = keys;
  const body = 'x'.repeat(bodyBytes);
  const sealInput = { from: 'alice', sender: alice, to: 'bob', recipient: bob, body };
  const rate = (fn) => measure(fn, seconds);

  // --- ours
  const oursOpen = (ciphertext) => {
    const opened = openMessage(ciphertext, 'bob', bob);
    if (!opened.ok || opened.message.body !== body) throw new Error('ours: open failed');
  };
  const oursSample = sealMessage(sealInput).ciphertext;
  oursOpen(oursSample);
  const ours = {
    seal: rate(() => sealMessage(sealInput)),
    open: rate(() => oursOpen(oursSample)),
    sealOpen: rate(() => oursOpen(sealMessage(sealInput).ciphertext)),
  };

  // --- the same envelope on libsodium and on tweetnacl; both must interoperate with ours
  const envelopeKeys = (signSecretKey) => ({
    sender: alice,
    senderSignSecretKey: signSecretKey,
    recipientBoxPublicKey: bob.boxPublicKey,
    recipientBoxSecretKey: bobBoxSecretKey,
  });
  const other = (envelope, name) => {
    const open = (ciphertext) => {
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
    tampered[tampered.length - 1] ^= 1;
    check(envelope.open(toB64u(tampered), 'bob') === null, `${name} tamper refusal`);
    return {
      seal: rate(() => envelope.seal(body)),
      open: rate(() => open(sample)),
      sealOpen: rate(() => open(envelope.seal(body))),
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
  const boxSealOpen = (sealed) => {
    const opened = sodium.crypto_box_seal_open(sealed, bob.boxPublicKey, bobBoxSecretKey);
    if (opened.length !== raw.length || sodium.compare(opened, raw) !== 0)
      throw new Error('crypto_box_seal_open failed');
  };
  const boxSample = sodium.crypto_box_seal(raw, bob.boxPublicKey);
  boxSealOpen(boxSample);
  const libsodiumBoxSeal = {
    seal: rate(() => sodium.crypto_box_seal(raw, bob.boxPublicKey)),
    open: rate(() => boxSealOpen(boxSample)),
  };

  const ratio = (a, b) => Math.round((a / b) * 100) / 100;
  return {
    bodyBytes,
    ours,
    libsodiumEnvelope,
    tweetnaclEnvelope,
    libsodiumBoxSeal,
    ratios: {
      sealOpenVsLibsodium: ratio(ours.sealOpen, libsodiumEnvelope.sealOpen),
      sealOpenVsTweetnacl: ratio(ours.sealOpen, tweetnaclEnvelope.sealOpen),
    },
  };
}

/**
 * The relay's CPU work for one mailbox proof (server/src/auth/mailbox-auth.ts) minus the store:
 * decode the header, clock-window check, scope check, the agent's key (parseAgentKey is memoised,
 * so cached after the first request, as on the relay), Ed25519 verify. The directory lookup and
 * the nonce write are store access and left out. Client side: createProof + encodeAuthorization.
 */
function benchProof(seconds, alice) {
  const scope = scopeForPaths(['poll']);
  const windowMs = DEFAULT_LIMITS.authWindowSeconds * 1000;
  const newHeader = () =>
    encodeAuthorization(createProof({ relayId: RELAY_ID, agentId: 'alice', keys: alice, scope }));
  let header = newHeader();
  let headerTs = Date.now();
  let calls = 0;
  const verify = () => {
    // Keeps the proof inside the window when `seconds` is long (a counter test per call).
    if (++calls % 4096 === 0 && Date.now() - headerTs > windowMs / 2) {
      header = newHeader();
      headerTs = Date.now();
    }
    const proof = decodeAuthorization(header);
    if (proof === null) throw new Error('AUTH_MALFORMED');
    if (Math.abs(proof.ts - Date.now()) > windowMs) throw new Error('AUTH_STALE');
    if (proof.scope !== scope) throw new Error('AUTH_WRONG_SCOPE');
    const key = parseAgentKey(alice.agentKey);
    if (key === null || !verifyProofSignature(RELAY_ID, proof, key.verifyKey))
      throw new Error('AUTH_BAD_SIGNATURE');
    return proof.agentId;
  };
  check(verify() === 'alice', 'proof verification');
  const forged = decodeAuthorization(header);
  check(
    !verifyProofSignature(RELAY_ID, { ...forged, scope: 'delete' }, alice.verifyKey),
    'forged proof refusal',
  );
  return {
    verifyPerSecond: measure(verify, seconds),
    createPerSecond: measure(newHeader, seconds),
  };
}

/** Runs every crypto measurement; `seconds` bounds each measured loop (also bound each by a max count). */
export async function runCryptoBench({ seconds }) {
  if (!(seconds > 0)) throw new RangeError('seconds must be positive');
  await sodium.ready;
  const aliceSeed = generateSeed();
  const bobSeed = generateSeed();
  const alice = deriveAgentKeys(aliceSeed);
  const bob = deriveAgentKeys(bobSeed);
  // Bob's X25519 secret as deriveAgentKeys computes it (crypto_hash is SHA-512), as raw bytes.
  const bobBoxSecretKey = sodium.crypto_hash(concat(BOX_KEY_DOMAIN, bobSeed)).slice(0, 32);
  check(
    sodium.compare(sodium.crypto_scalarmult_base(bobBoxSecretKey), bob.boxPublicKey) === 0,
    'box key derivation',
  );
  const keys = { alice, bob, aliceSeed, bobBoxSecretKey };

  const sizes = SIZES.map((bodyBytes) => benchSize(bodyBytes, seconds, keys));
  const proof = benchProof(seconds, alice);
  const sealed = sealMessage({
    from: 'alice',
    sender: alice,
    to: 'bob',
    recipient: bob,
    body: 'x'.repeat(1024),
  });
  return {
    sizes,
    proof,
    envelopeOverhead: {
      bodyBytes: 1024,
      ciphertextBytes: sealed.bytes,
      b64uChars: sealed.ciphertext.length,
    },
  };
}

const n = (value) => Math.round(value).toLocaleString('en-US');
const size = (bytes) => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`);

/** `[label, value, note]` rows for a compact printed table. */
export function cryptoRows(result) {
  const rows = [];
  for (const s of result.sizes) {
    const at = size(s.bodyBytes);
    const so = (r) => `seal ${n(r.seal)}/s, open ${n(r.open)}/s`;
    rows.push(
      [`ours seal+open ${at}`, `${n(s.ours.sealOpen)}/s`, so(s.ours)],
      [
        `libsodium envelope seal+open ${at}`,
        `${n(s.libsodiumEnvelope.sealOpen)}/s`,
        so(s.libsodiumEnvelope),
      ],
      [
        `tweetnacl envelope seal+open ${at}`,
        `${n(s.tweetnaclEnvelope.sealOpen)}/s`,
        so(s.tweetnaclEnvelope),
      ],
      [
        `crypto_box_seal ${at}`,
        `${n(s.libsodiumBoxSeal.seal)}/s`,
        `open ${n(s.libsodiumBoxSeal.open)}/s; no signature`,
      ],
      [
        `ours / libsodium ${at}`,
        `${s.ratios.sealOpenVsLibsodium.toFixed(2)}×`,
        'seal+open, same envelope',
      ],
      [
        `ours / tweetnacl ${at}`,
        `${s.ratios.sealOpenVsTweetnacl.toFixed(2)}×`,
        'seal+open, same envelope',
      ],
    );
  }
  const o = result.envelopeOverhead;
  rows.push(
    [
      'proof verify (relay)',
      `${n(result.proof.verifyPerSecond)}/s`,
      'decode + checks + Ed25519, key cached, no store',
    ],
    ['proof create + encode (client)', `${n(result.proof.createPerSecond)}/s`, ''],
    [
      `envelope of a ${size(o.bodyBytes)} body`,
      `${n(o.ciphertextBytes)} B`,
      `${n(o.b64uChars)} b64u chars, ${n(o.ciphertextBytes - o.bodyBytes)} B over the body`,
    ],
  );
  return rows;
}

export function formatRows(rows) {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows
    .map(([label, value, note]) => `${label.padEnd(w0)}  ${value.padStart(w1)}  ${note}`.trimEnd())
    .join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '--seconds' || a.startsWith('--seconds='));
  const seconds = i < 0 ? 2 : Number(args[i].includes('=') ? args[i].split('=')[1] : args[i + 1]);
  if (!(seconds > 0)) {
    console.error('usage: node scripts/bench/crypto.mjs [--seconds 2]');
    process.exit(2);
  }
  const result = await runCryptoBench({ seconds });
  console.log(formatRows(cryptoRows(result)));
  console.log(JSON.stringify(result, null, 2));
}
