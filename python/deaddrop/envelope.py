"""Sealed messages (PROTOCOL §2, §10): a signed inner JSON document, padded (NIP-44 rule) and boxed
with a fresh ephemeral X25519 key, to the recipient's identity key (v1, ``0x01``) or to one of its
one-time prekeys (v2, ``0x02 || prekeyId[8]``)."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

from .b64u import b64u_length, from_b64u, to_b64u
from .crypto import (
    KEY_BYTES,
    MAC_BYTES,
    NONCE_BYTES,
    SIGNATURE_BYTES,
    BoxKeyPair,
    SigningKeyPair,
    box_key,
    box_open,
    box_seal,
    is_strong_x25519_public_key,
    random_bytes,
    verify_detached,
)
from .identity import AgentKeys, AgentPublicKey, parse_agent_key
from .inner import check_inner, order_inner_fields
from .jsonvalue import MAX_BODY_DEPTH, JsonError, dumps, is_json_value, parse

ENVELOPE_V1 = 0x01
ENVELOPE_V2 = 0x02
PREKEY_ID_BYTES = 8
_LENGTH_PREFIX_BYTES = 4
_SIGNATURE_DOMAIN = b"deaddrop/msg/v1\0"
MIN_PADDED_BYTES = 96
_V1_HEADER = 1 + KEY_BYTES + NONCE_BYTES
_V2_HEADER = 1 + PREKEY_ID_BYTES + KEY_BYTES + NONCE_BYTES
MIN_CIPHERTEXT_BYTES = _V1_HEADER + MAC_BYTES + MIN_PADDED_BYTES
MIN_CIPHERTEXT_V2_BYTES = _V2_HEADER + MAC_BYTES + MIN_PADDED_BYTES
_MAX_INNER_DEPTH = MAX_BODY_DEPTH + 1


def pad_len(n: int) -> int:
    """NIP-44 padding: 32-byte steps up to 256, then eighths of the next power of two."""
    if not isinstance(n, int) or n < 0:
        raise ValueError("pad_len takes a non-negative integer")
    if n <= 32:
        return 32
    p = 1 << (n - 1).bit_length()
    chunk = 32 if p <= 256 else p // 8
    return chunk * ((n - 1) // chunk + 1)


def sealed_bytes_for(inner_bytes: int) -> int:
    """Decoded bytes of a v1 envelope around an inner document of ``inner_bytes`` bytes."""
    return _V1_HEADER + MAC_BYTES + pad_len(_LENGTH_PREFIX_BYTES + inner_bytes + SIGNATURE_BYTES)


@dataclass(frozen=True)
class Sealed:
    ciphertext: str
    uid: str
    sent_at: int
    bytes: int


def build_inner_bytes(
    *,
    sender: str,
    sender_keys: AgentKeys,
    to: str,
    body: Any,
    kind: str = "message",
    options: dict[str, Any] | None = None,
    uid: str | None = None,
    sent_at: int | None = None,
) -> tuple[bytes, str, int]:
    """The inner document's UTF-8 bytes, refused here when a receiver would refuse it."""
    if not is_json_value(body, MAX_BODY_DEPTH):
        raise TypeError(
            "message body must be plain JSON (str, finite numbers, bool, None, lists, dicts with "
            f"str keys) nesting at most {MAX_BODY_DEPTH} levels deep"
        )
    uid = uid if uid is not None else to_b64u(random_bytes(16))
    sent_at = sent_at if sent_at is not None else int(time.time() * 1000)
    fields = dict(options or {})
    fields.update(
        id=uid,
        kind=kind,
        **{"from": sender},
        fromKey=sender_keys.agent_key,
        to=to,
        sentAt=sent_at,
        body=body,
    )
    document = order_inner_fields(fields)
    if check_inner(document) is None:
        raise TypeError("cannot seal this message: a receiver would refuse its fields")
    return dumps(document).encode("utf-8"), uid, sent_at


def sign_and_box(
    inner_bytes: bytes,
    signing: SigningKeyPair,
    box_public_key: bytes,
    ephemeral_secret_key: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """``E.pk[32] || nonce[24] || box``: signed over the box key it is sealed to, padded, boxed."""
    signature = signing.sign(_SIGNATURE_DOMAIN + box_public_key + inner_bytes)
    used = _LENGTH_PREFIX_BYTES + len(inner_bytes) + SIGNATURE_BYTES
    plain = struct.pack(">I", len(inner_bytes)) + inner_bytes + signature
    plain += bytes(pad_len(used) - used)
    ephemeral = BoxKeyPair(ephemeral_secret_key or random_bytes(KEY_BYTES))
    nonce = nonce or random_bytes(NONCE_BYTES)
    key = box_key(ephemeral.secret_key, box_public_key)
    if key is None:
        raise ValueError("recipient box key is weak")
    return ephemeral.public_key + nonce + box_seal(plain, nonce, key)


def seal_inner_bytes(
    inner_bytes: bytes,
    signing: SigningKeyPair,
    recipient_box_key: bytes,
    ephemeral_secret_key: bytes | None = None,
    nonce: bytes | None = None,
) -> str:
    """A v1 envelope around ``inner_bytes`` exactly as given (vectors, hostile-content tests)."""
    boxed = sign_and_box(inner_bytes, signing, recipient_box_key, ephemeral_secret_key, nonce)
    return to_b64u(bytes([ENVELOPE_V1]) + boxed)


def seal_message(
    inner: tuple[bytes, str, int],
    sender_keys: AgentKeys,
    recipient: AgentPublicKey,
    ephemeral_secret_key: bytes | None = None,
    nonce: bytes | None = None,
) -> Sealed:
    inner_bytes, uid, sent_at = inner
    envelope = bytes([ENVELOPE_V1]) + sign_and_box(
        inner_bytes, sender_keys.signing, recipient.box_public_key, ephemeral_secret_key, nonce
    )
    return Sealed(to_b64u(envelope), uid, sent_at, len(envelope))


def prekey_public_key(key: object) -> bytes | None:
    """The prekey's X25519 public key when ``key`` is 32 bytes of canonical b64u and not weak."""
    data = from_b64u(key)
    return data if data is not None and is_strong_x25519_public_key(data) else None


def seal_message_v2(
    inner: tuple[bytes, str, int],
    sender_keys: AgentKeys,
    prekey_id: str,
    prekey_key: str,
    ephemeral_secret_key: bytes | None = None,
    nonce: bytes | None = None,
) -> Sealed:
    inner_bytes, uid, sent_at = inner
    id_bytes = from_b64u(prekey_id)
    if id_bytes is None or len(id_bytes) != PREKEY_ID_BYTES:
        raise ValueError("prekey id must be 8 bytes b64u")
    public_key = prekey_public_key(prekey_key)
    if public_key is None:
        raise ValueError("prekey key must be a strong X25519 key, b64u")
    envelope = (
        bytes([ENVELOPE_V2])
        + id_bytes
        + sign_and_box(inner_bytes, sender_keys.signing, public_key, ephemeral_secret_key, nonce)
    )
    return Sealed(to_b64u(envelope), uid, sent_at, len(envelope))


@dataclass(frozen=True)
class Opened:
    ok: bool
    reason: str | None = None
    message: dict[str, Any] | None = None
    sender_key: AgentPublicKey | None = None


def _open_boxed(sealed: bytes, recipient_id: str, secret_key: bytes, public_key: bytes) -> Opened:
    ephemeral_public_key = sealed[:KEY_BYTES]
    nonce = sealed[KEY_BYTES : KEY_BYTES + NONCE_BYTES]
    key = box_key(secret_key, ephemeral_public_key)
    if key is None:
        return Opened(False, "decrypt-failed")
    plain = box_open(sealed[KEY_BYTES + NONCE_BYTES :], nonce, key)
    if plain is None:
        return Opened(False, "decrypt-failed")
    (inner_length,) = struct.unpack(">I", plain[:4])
    used = _LENGTH_PREFIX_BYTES + inner_length + SIGNATURE_BYTES
    if used > len(plain) or pad_len(used) != len(plain) or any(plain[used:]):
        return Opened(False, "bad-padding")
    inner_bytes = plain[_LENGTH_PREFIX_BYTES : _LENGTH_PREFIX_BYTES + inner_length]
    signature = plain[_LENGTH_PREFIX_BYTES + inner_length : used]
    inner = parse_inner(inner_bytes)
    if inner is None:
        return Opened(False, "bad-inner")
    sender_key = parse_agent_key(inner["fromKey"])
    if sender_key is None:
        return Opened(False, "bad-sender-key")
    signed = _SIGNATURE_DOMAIN + public_key + inner_bytes
    if not verify_detached(sender_key.sign_public_key, signed, signature):
        return Opened(False, "bad-signature")
    if inner["to"] != recipient_id:
        return Opened(False, "wrong-recipient")
    return Opened(True, message=inner, sender_key=sender_key)


def parse_inner(inner_bytes: bytes) -> dict[str, Any] | None:
    """The inner document, or None for anything a sender could put there that is not one (PROTOCOL
    §6 "Hostile content"). Never raises, whatever the bytes."""
    try:
        text = inner_bytes.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        return check_inner(parse(text, _MAX_INNER_DEPTH))
    except (UnicodeDecodeError, JsonError, ValueError, RecursionError, MemoryError):
        return None


def open_message(ciphertext: str, recipient_id: str, keys: AgentKeys) -> Opened:
    """Opens and authenticates a v1 envelope addressed to ``recipient_id``."""
    envelope = from_b64u(ciphertext)
    if envelope is None:
        return Opened(False, "bad-encoding")
    if len(envelope) < MIN_CIPHERTEXT_BYTES:
        return Opened(False, "too-short")
    if envelope[0] != ENVELOPE_V1:
        return Opened(False, "bad-version")
    return _open_boxed(envelope[1:], recipient_id, keys.box.secret_key, keys.box_public_key)


def read_prekey_id(ciphertext: str) -> str | None:
    """The prekey id a v2 ciphertext names, or None when it is not a v2 envelope."""
    envelope = from_b64u(ciphertext)
    if envelope is None or len(envelope) < MIN_CIPHERTEXT_V2_BYTES or envelope[0] != ENVELOPE_V2:
        return None
    return to_b64u(envelope[1 : 1 + PREKEY_ID_BYTES])


def open_message_v2(
    ciphertext: str, recipient_id: str, prekey_id: str, secret_key: bytes
) -> Opened:
    """Opens a v2 envelope with the prekey secret its id names."""
    envelope = from_b64u(ciphertext)
    if envelope is None:
        return Opened(False, "bad-encoding")
    if len(envelope) < MIN_CIPHERTEXT_V2_BYTES:
        return Opened(False, "too-short")
    if envelope[0] != ENVELOPE_V2:
        return Opened(False, "bad-version")
    if to_b64u(envelope[1 : 1 + PREKEY_ID_BYTES]) != prekey_id:
        return Opened(False, "prekey-unknown")
    if len(secret_key) != KEY_BYTES:
        return Opened(False, "decrypt-failed")
    pair = BoxKeyPair(secret_key)
    return _open_boxed(
        envelope[1 + PREKEY_ID_BYTES :], recipient_id, pair.secret_key, pair.public_key
    )


def largest_inner(max_message_bytes: int) -> int:
    """The largest inner document (bytes) whose v1 envelope fits, or -1."""
    if sealed_bytes_for(0) > max_message_bytes:
        return -1
    fits, too_big = 0, max_message_bytes
    while too_big - fits > 1:
        middle = (fits + too_big) // 2
        if sealed_bytes_for(middle) <= max_message_bytes:
            fits = middle
        else:
            too_big = middle
    return fits


_LONGEST_AGENT_ID = "x" * 64
_ANY_UID = "A" * 22
_ANY_AGENT_KEY = "k" * 91
DEFAULT_FILE_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class BodyLimits:
    file_bytes: int
    text_bytes: int
    json_bytes: int


def largest_body(
    max_message_bytes: int,
    *,
    sender: str | None = None,
    to: str | None = None,
    sent_at: int | None = None,
    options: dict[str, Any] | None = None,
) -> BodyLimits:
    """The largest body that fits under ``max_message_bytes`` with these other fields, exactly:
    in bytes of file data, of text and of JSON (``largestBody`` in the contract)."""
    inner_max = largest_inner(max_message_bytes)
    base = dict(options or {})
    when = sent_at if sent_at is not None else int(time.time() * 1000)

    def skeleton(extra: dict[str, Any]) -> int:
        fields = {**base, **extra}
        fields.update(
            id=_ANY_UID,
            kind="message",
            **{"from": sender or _LONGEST_AGENT_ID},
            fromKey=_ANY_AGENT_KEY,
            to=to or _LONGEST_AGENT_ID,
            sentAt=when,
            body="",
        )
        return len(dumps(order_inner_fields(fields)).encode("utf-8")) - 2

    json_bytes = max(inner_max - skeleton({"contentType": None, "filename": None}), 0)
    file_chars = (
        inner_max
        - skeleton({"contentType": base.get("contentType") or DEFAULT_FILE_CONTENT_TYPE})
        - 2
    )
    file_bytes = max(file_chars * 3 // 4, 0)
    while file_bytes > 0 and b64u_length(file_bytes) > file_chars:
        file_bytes -= 1
    return BodyLimits(file_bytes, max(json_bytes - 2, 0), json_bytes)
