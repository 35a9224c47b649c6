#!/usr/bin/env node
// Quick crypto figures for the closing notes and README (issue 2): envelope overhead for a 1 KiB
// body, sealMessage+openMessage per second next to a tweetnacl-only envelope of the same format,
// and proof verifications per second (the relay's per-request auth cost). Bounded in time.
import nacl from 'tweetnacl';
import {
  createProof,
  decodeAuthorization,
  deriveAgentKeys,
  encodeAuthorization,
  generateSeed,
  openMessage,
  parseAgentKey,
  sealMessage,
  verifyProofSignature,
} from '@deaddrop/contract';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const body = 'x'.repeat(1024);

function rate(name, fn) {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < deadline && count < 1_000_000) {
    fn();
    count++;
  }
  const perSecond = count / ((performance.now() - started) / 1000);
  console.log(`${name.padEnd(46)} ${Math.round(perSecond).toLocaleString('en-US').padStart(9)} /s`);
  return perSecond;
}

const aliceSeed = generateSeed();
const alice = deriveAgentKeys(aliceSeed);
const bob = deriveAgentKeys(generateSeed());

// --- ours
const sealed = sealMessage({ from: 'alice', sender: alice, to: 'bob', recipient: bob, body });
const innerBytes = Buffer.byteLength(
  JSON.stringify({
    v: 1,
    id: 'x'.repeat(22),
    kind: 'message',
    from: 'alice',
    fromKey: alice.agentKey,
    to: 'bob',
    sentAt: Date.now(),
    body,
  }),
);
console.log(
  `1 KiB body: inner JSON ${innerBytes} B, envelope ${sealed.bytes} B decoded (${sealed.bytes - 1024} B over the body), ${sealed.ciphertext.length} B as b64u`,
);
const ours = rate('ours: sealMessage+openMessage (1 KiB)', () => {
  const s = sealMessage({ from: 'alice', sender: alice, to: 'bob', recipient: bob, body });
  if (!openMessage(s.ciphertext, 'bob', bob).ok) throw new Error('open failed');
});

// --- the same envelope with tweetnacl alone (X25519, Ed25519, XSalsa20-Poly1305 all in JS)
const te = new TextEncoder();
const naclSign = nacl.sign.keyPair.fromSeed(aliceSeed);
const bobBoxSecret = nacl
  .hash(new Uint8Array([...te.encode('deaddrop/box/v1'), ...generateSeed()]))
  .slice(0, 32);
const bobBox = nacl.box.keyPair.fromSecretKey(bobBoxSecret);
const domain = te.encode('deaddrop/msg/v1\0');
function naclSeal() {
  const inner = te.encode(
    JSON.stringify({
      v: 1,
      id: 'AAAAAAAAAAAAAAAAAAAAAA',
      kind: 'message',
      from: 'alice',
      fromKey: alice.agentKey,
      to: 'bob',
      sentAt: Date.now(),
      body,
    }),
  );
  const sig = nacl.sign.detached(
    new Uint8Array([...domain, ...bobBox.publicKey, ...inner]),
    naclSign.secretKey,
  );
  const used = 4 + inner.length + 64;
  const plain = new Uint8Array(1408 >= used ? 1408 : used);
  new DataView(plain.buffer).setUint32(0, inner.length);
  plain.set(inner, 4);
  plain.set(sig, 4 + inner.length);
  const eph = nacl.box.keyPair();
  const nonce = nacl.randomBytes(24);
  return {
    eph: eph.publicKey,
    nonce,
    box: nacl.box(plain, nonce, bobBox.publicKey, eph.secretKey),
  };
}
function naclOpen({ eph, nonce, box }) {
  const plain = nacl.box.open(box, nonce, eph, bobBox.secretKey);
  if (plain === null) throw new Error('open failed');
  const length = new DataView(plain.buffer, plain.byteOffset).getUint32(0);
  const inner = plain.subarray(4, 4 + length);
  const ok = nacl.sign.detached.verify(
    new Uint8Array([...domain, ...bobBox.publicKey, ...inner]),
    plain.subarray(4 + length, 68 + length),
    naclSign.publicKey,
  );
  if (!ok) throw new Error('bad signature');
  JSON.parse(new TextDecoder().decode(inner));
}
const tweetnaclOnly = rate('tweetnacl only: seal+open (1 KiB)', () => naclOpen(naclSeal()));
console.log(`ratio ours / tweetnacl-only: ${(ours / tweetnaclOnly).toFixed(1)}×`);

// --- relay auth cost
const header = encodeAuthorization(
  createProof({ relayId: 'bench', agentId: 'alice', keys: alice, scope: 'poll' }),
);
rate('verifyProof (decode header + Ed25519, key cached)', () => {
  const proof = decodeAuthorization(header);
  const key = parseAgentKey(alice.agentKey);
  if (proof === null || key === null || !verifyProofSignature('bench', proof, key.verifyKey))
    throw new Error('verify failed');
});
rate('createProof + encode (client side)', () =>
  encodeAuthorization(
    createProof({ relayId: 'bench', agentId: 'alice', keys: alice, scope: 'poll' }),
  ),
);
