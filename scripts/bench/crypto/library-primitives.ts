// The two libraries our envelope is compared with, each as the primitives the envelope design
// needs: libsodium-wrappers (libsodium compiled to WebAssembly) and tweetnacl (all in JavaScript).
import sodium from 'libsodium-wrappers';
import nacl from 'tweetnacl';
import type { EnvelopePrimitives } from './envelope-design.js';

/** Call once `sodium.ready` has resolved. */
export function libsodiumPrimitives(): EnvelopePrimitives {
  return {
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
  };
}

export function tweetnaclPrimitives(): EnvelopePrimitives {
  return {
    randomBytes: (n) => nacl.randomBytes(n),
    sign: (message, secretKey) => nacl.sign.detached(message, secretKey),
    verify: (signature, message, publicKey) =>
      nacl.sign.detached.verify(message, signature, publicKey),
    boxKeyPair: () => nacl.box.keyPair(),
    box: (plain, nonce, publicKey, secretKey) => nacl.box(plain, nonce, publicKey, secretKey),
    boxOpen: (box, nonce, publicKey, secretKey) => nacl.box.open(box, nonce, publicKey, secretKey),
  };
}
