"""Agent identity (PROTOCOL §1): one 32-byte seed yields an Ed25519 signing pair and an X25519 box
pair; the public half travels as the agent key ``ddk1_`` + b64u(signPk || boxPk)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .b64u import from_b64u, to_b64u
from .crypto import (
    KEY_BYTES,
    BoxKeyPair,
    SigningKeyPair,
    is_strong_ed25519_public_key,
    is_strong_x25519_public_key,
    random_bytes,
    sha512,
)

AGENT_KEY_PREFIX = "ddk1_"
AGENT_KEY_LENGTH = 91
SEED_BYTES = 32
_BOX_KEY_DOMAIN = b"deaddrop/box/v1"
AGENT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def is_agent_id(value: object) -> bool:
    return isinstance(value, str) and AGENT_ID_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True)
class AgentPublicKey:
    """A validated public agent key."""

    agent_key: str
    sign_public_key: bytes
    box_public_key: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.sign_public_key, self.box_public_key)


class AgentKeys:
    """Everything an agent derives from its seed (the seed itself is not kept)."""

    __slots__ = ("agent_key", "sign_public_key", "box_public_key", "signing", "box")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError(f"seed must be {SEED_BYTES} bytes")
        self.signing = SigningKeyPair(seed)
        self.box = BoxKeyPair(sha512(_BOX_KEY_DOMAIN + seed)[:KEY_BYTES])
        self.sign_public_key = self.signing.public_key
        self.box_public_key = self.box.public_key
        self.agent_key = format_agent_key(self.sign_public_key, self.box_public_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.sign_public_key, self.box_public_key)

    @property
    def public(self) -> AgentPublicKey:
        return AgentPublicKey(self.agent_key, self.sign_public_key, self.box_public_key)


def generate_seed() -> bytes:
    return random_bytes(SEED_BYTES)


def format_agent_key(sign_public_key: bytes, box_public_key: bytes) -> str:
    return AGENT_KEY_PREFIX + to_b64u(sign_public_key + box_public_key)


_parsed: dict[str, AgentPublicKey | None] = {}
_PARSED_MAX = 10_000


def parse_agent_key(text: object) -> AgentPublicKey | None:
    """A fully validated agent key (syntax, canonical non-small-order points), else None."""
    if not isinstance(text, str):
        return None
    if text in _parsed:
        return _parsed[text]
    parsed = _parse_uncached(text)
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[text] = parsed
    return parsed


def _parse_uncached(text: str) -> AgentPublicKey | None:
    if len(text) != AGENT_KEY_LENGTH or not text.startswith(AGENT_KEY_PREFIX):
        return None
    raw = from_b64u(text[len(AGENT_KEY_PREFIX) :])
    if raw is None or len(raw) != 2 * KEY_BYTES:
        return None
    sign_pk, box_pk = raw[:KEY_BYTES], raw[KEY_BYTES:]
    if not is_strong_ed25519_public_key(sign_pk) or not is_strong_x25519_public_key(box_pk):
        return None
    return AgentPublicKey(text, sign_pk, box_pk)


def fingerprint(sign_public_key: bytes, box_public_key: bytes) -> str:
    """First 10 bytes of SHA-512(signPk || boxPk), lowercase hex in five groups of four."""
    digest = sha512(sign_public_key + box_public_key)[:10].hex()
    return "-".join(digest[i : i + 4] for i in range(0, 20, 4))


def fingerprint_of(agent_key: str) -> str:
    key = parse_agent_key(agent_key)
    return "(malformed key)" if key is None else key.fingerprint
