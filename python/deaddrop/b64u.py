"""Strict base64url without padding (PROTOCOL "Encodings").

A text that does not survive decode -> encode unchanged is a bad encoding, so two spellings can
never name one value: only ``[A-Za-z0-9_-]``, no ``=``, a length that is not 1 modulo 4, and zero
bits in the unused low bits of the last character.
"""

from __future__ import annotations

import base64
import re

_B64U = re.compile(r"[A-Za-z0-9_-]*")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def to_b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_canonical_b64u(text: str) -> bool:
    """Alphabet, length and zero unused bits, without decoding."""
    if not isinstance(text, str):
        return False
    rest = len(text) % 4
    if rest == 1 or _B64U.fullmatch(text) is None:
        return False
    if rest == 0:
        return True
    last = _ALPHABET.index(text[-1])
    return (last & 0x0F) == 0 if rest == 2 else (last & 0x03) == 0


def from_b64u(text: object) -> bytes | None:
    """The bytes of canonical b64u text, or None for anything else."""
    if not isinstance(text, str) or not is_canonical_b64u(text):
        return None
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_of_length(text: object, byte_length: int) -> bytes | None:
    """The bytes of canonical b64u text that decodes to exactly ``byte_length`` bytes."""
    if not isinstance(text, str) or len(text) > -(-byte_length * 4 // 3):
        return None
    data = from_b64u(text)
    return data if data is not None and len(data) == byte_length else None


def b64u_decoded_length(text: str) -> int:
    """Bytes a canonical b64u text decodes to, without decoding it."""
    return len(text) * 3 // 4


def b64u_length(byte_count: int) -> int:
    """Characters of unpadded base64url for ``byte_count`` bytes."""
    return byte_count // 3 * 4 + (0 if byte_count % 3 == 0 else byte_count % 3 + 1)
