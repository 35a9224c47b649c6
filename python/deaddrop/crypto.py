"""The one module that touches key material (PROTOCOL §1, §2), on libsodium through PyNaCl.

``nacl.box`` is X25519 -> HSalsa20 -> XSalsa20-Poly1305; libsodium's ``crypto_box_beforenm`` and
``crypto_box_afternm`` give exactly the bytes of ``crypto_box_easy`` (MAC first). libsodium refuses
an X25519 result of all zeros (a small-order peer key) and a non-canonical Ed25519 signature
(S >= L), as the protocol requires.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from nacl import bindings
from nacl.exceptions import CryptoError

KEY_BYTES = 32
NONCE_BYTES = 24
MAC_BYTES = 16
SIGNATURE_BYTES = 64


def random_bytes(length: int) -> bytes:
    return os.urandom(length)


def sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def hmac_sha256_hex(key: str, data: str) -> str:
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()


class SigningKeyPair:
    """An Ed25519 key pair: ``public_key`` (32 bytes) and libsodium's 64-byte secret key."""

    __slots__ = ("public_key", "_secret")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != KEY_BYTES:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self.public_key, self._secret = bindings.crypto_sign_seed_keypair(seed)

    def sign(self, message: bytes) -> bytes:
        return bindings.crypto_sign(message, self._secret)[:SIGNATURE_BYTES]


class BoxKeyPair:
    """An X25519 key pair from its 32-byte secret."""

    __slots__ = ("public_key", "secret_key")

    def __init__(self, secret_key: bytes) -> None:
        if len(secret_key) != KEY_BYTES:
            raise ValueError("an X25519 secret key is 32 bytes")
        self.secret_key = bytes(secret_key)
        self.public_key = bindings.crypto_scalarmult_base(self.secret_key)


def verify_detached(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification; libsodium refuses non-canonical S and small-order keys."""
    if len(signature) != SIGNATURE_BYTES or len(public_key) != KEY_BYTES:
        return False
    try:
        bindings.crypto_sign_open(signature + message, public_key)
        return True
    except (CryptoError, ValueError, TypeError):
        return False


def box_key(secret_key: bytes, peer_public_key: bytes) -> bytes | None:
    """``nacl.box.before``: HSalsa20 of the X25519 secret; None for a small-order peer key."""
    if len(peer_public_key) != KEY_BYTES:
        return None
    try:
        return bindings.crypto_box_beforenm(peer_public_key, secret_key)
    except (CryptoError, ValueError, TypeError, RuntimeError):
        return None


def box_seal(plain: bytes, nonce: bytes, key: bytes) -> bytes:
    """XSalsa20-Poly1305 under a ``box_key``: MAC (16 bytes) then ciphertext."""
    return bindings.crypto_box_afternm(plain, nonce, key)


def box_open(boxed: bytes, nonce: bytes, key: bytes) -> bytes | None:
    if len(boxed) < MAC_BYTES:
        return None
    try:
        return bindings.crypto_box_open_afternm(boxed, nonce, key)
    except (CryptoError, ValueError, TypeError):
        return None


_probe_secret = sha512(b"deaddrop/probe")[:KEY_BYTES]


def is_strong_x25519_public_key(public_key: bytes) -> bool:
    """A box key is weak when X25519 with it yields the all-zero secret (PROTOCOL §1)."""
    if len(public_key) != KEY_BYTES:
        return False
    try:
        bindings.crypto_scalarmult(_probe_secret, public_key)
        return True
    except (CryptoError, ValueError, TypeError, RuntimeError):
        return False


# Strict Ed25519 public-key validation (PROTOCOL §1), the relay's and the TypeScript SDK's rule: a
# canonical point encoding (RFC 8032 §5.1.3, y < p, no "negative zero" x) that is not of small order.
# libsodium's crypto_core_ed25519_is_valid_point also refuses points with a torsion component,
# which the TypeScript SDK accepts: this keeps both clients judging keys alike.
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(encoded: bytes) -> tuple[int, int] | None:
    if len(encoded) != 32:
        return None
    sign = encoded[31] >> 7
    y = int.from_bytes(encoded[:31] + bytes([encoded[31] & 0x7F]), "little")
    if y >= _P:
        return None
    y2 = y * y % _P
    u = (y2 - 1) % _P
    v = (_D * y2 + 1) % _P
    v3 = v * v * v % _P
    x = u * v3 * pow(u * v3 * v3 * v, (_P - 5) // 8, _P) % _P
    vx2 = v * x * x % _P
    if vx2 != u:
        if vx2 != (-u) % _P:
            return None
        x = x * _SQRT_M1 % _P
    if x == 0 and sign == 1:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x, y


def _double(point: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    # Extended coordinates (a = -1), "dbl-2008-hwcd".
    x, y, z, _ = point
    a = x * x % _P
    b = y * y % _P
    c = 2 * z * z % _P
    d = (-a) % _P
    e = ((x + y) * (x + y) - a - b) % _P
    g = (d + b) % _P
    f = (g - c) % _P
    h = (d - b) % _P
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def is_strong_ed25519_public_key(encoded: bytes) -> bool:
    """True for a canonical Ed25519 point whose order is not small (not in the 8-torsion)."""
    decoded = _decode_point(encoded)
    if decoded is None:
        return False
    x, y = decoded
    point = (x, y, 1, x * y % _P)
    eight = _double(_double(_double(point)))
    return not (eight[0] == 0 and (eight[1] - eight[2]) % _P == 0)
