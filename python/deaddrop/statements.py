"""Signed statements an agent makes (PROTOCOL §3.4, §3.3, §10): mailbox proofs, registrations,
one-time prekeys and key rotations, with the verification of a rotation chain."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .b64u import b64u_of_length, from_b64u, to_b64u
from .crypto import BoxKeyPair, random_bytes, verify_detached
from .envelope import PREKEY_ID_BYTES, prekey_public_key
from .identity import AgentKeys, AgentPublicKey, parse_agent_key
from .jsonvalue import dumps

AUTH_SCHEME = "DeadDrop"
ROTATIONS_MAX = 16


def _signed_fields(domain: str, *fields: str) -> bytes:
    """``utf8(domain) || \\0 || f1 || \\0 || f2 …`` (PROTOCOL "Encodings")."""
    return "\0".join((domain, *fields)).encode("utf-8")


def _now_ms() -> int:
    return int(time.time() * 1000)


def create_proof(
    relay_id: str,
    agent_id: str,
    keys: AgentKeys,
    scope: str,
    ts: int | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """``{ agentId, ts, nonce, scope, sig }``, signed over
    ``"deaddrop/auth/v1" \\0 relayId \\0 agentId \\0 ts \\0 nonce \\0 scope``."""
    ts = _now_ms() if ts is None else ts
    nonce = to_b64u(random_bytes(16)) if nonce is None else nonce
    signed = _signed_fields("deaddrop/auth/v1", relay_id, agent_id, str(ts), nonce, scope)
    sig = to_b64u(keys.signing.sign(signed))
    return {"agentId": agent_id, "ts": ts, "nonce": nonce, "scope": scope, "sig": sig}


def encode_authorization(proof: dict[str, Any]) -> str:
    fields = {name: proof[name] for name in ("agentId", "ts", "nonce", "scope", "sig")}
    return f"{AUTH_SCHEME} {to_b64u(dumps(fields).encode('utf-8'))}"


def sign_registration(
    relay_id: str, agent_id: str, keys: AgentKeys, ts: int | None = None
) -> dict[str, Any]:
    ts = _now_ms() if ts is None else ts
    signed = _signed_fields("deaddrop/register/v1", relay_id, agent_id, keys.agent_key, str(ts))
    return {
        "agentId": agent_id,
        "agentKey": keys.agent_key,
        "ts": ts,
        "sig": to_b64u(keys.signing.sign(signed)),
    }


def prekey_signed_bytes(agent_id: str, prekey_id: str, key: str) -> bytes:
    return _signed_fields("deaddrop/prekey/v1", agent_id, prekey_id, key)


@dataclass(frozen=True)
class GeneratedPrekey:
    prekey: dict[str, str]
    secret_key: bytes


def generate_prekey(
    agent_id: str, keys: AgentKeys, id_bytes: bytes | None = None, secret_key: bytes | None = None
) -> GeneratedPrekey:
    id_bytes = random_bytes(PREKEY_ID_BYTES) if id_bytes is None else id_bytes
    if len(id_bytes) != PREKEY_ID_BYTES:
        raise ValueError("a prekey id is 8 bytes")
    secret_key = random_bytes(32) if secret_key is None else secret_key
    prekey_id = to_b64u(id_bytes)
    key = to_b64u(BoxKeyPair(secret_key).public_key)
    sig = to_b64u(keys.signing.sign(prekey_signed_bytes(agent_id, prekey_id, key)))
    return GeneratedPrekey({"id": prekey_id, "key": key, "sig": sig}, secret_key)


def verify_prekey(agent_id: str, prekey: dict[str, Any], signer: AgentPublicKey) -> bool:
    """Well formed (8-byte id, strong 32-byte key, 64-byte signature) and signed by ``signer``."""
    prekey_id, key, sig = prekey.get("id"), prekey.get("key"), prekey.get("sig")
    if b64u_of_length(prekey_id, PREKEY_ID_BYTES) is None or prekey_public_key(key) is None:
        return False
    signature = b64u_of_length(sig, 64)
    if signature is None:
        return False
    assert isinstance(prekey_id, str) and isinstance(key, str)
    return verify_detached(
        signer.sign_public_key, prekey_signed_bytes(agent_id, prekey_id, key), signature
    )


def rotation_signed_bytes(
    relay_id: str, agent_id: str, old_key: str, new_key: str, ts: int
) -> bytes:
    return _signed_fields("deaddrop/rotate/v1", relay_id, agent_id, old_key, new_key, str(ts))


def sign_rotation(
    relay_id: str, agent_id: str, old_keys: AgentKeys, new_keys: AgentKeys, ts: int | None = None
) -> dict[str, Any]:
    ts = _now_ms() if ts is None else ts
    signed = rotation_signed_bytes(relay_id, agent_id, old_keys.agent_key, new_keys.agent_key, ts)
    return {
        "oldKey": old_keys.agent_key,
        "newKey": new_keys.agent_key,
        "ts": ts,
        "sigOld": to_b64u(old_keys.signing.sign(signed)),
        "sigNew": to_b64u(new_keys.signing.sign(signed)),
    }


def verify_rotation_step(relay_id: str, agent_id: str, step: dict[str, Any]) -> str | None:
    """Why one step does not verify (``bad-key``, ``bad-sig-old``, ``bad-sig-new``), or None."""
    old_key = parse_agent_key(step.get("oldKey"))
    new_key = parse_agent_key(step.get("newKey"))
    if old_key is None or new_key is None or step.get("oldKey") == step.get("newKey"):
        return "bad-key"
    ts = step.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int):
        return "bad-key"
    signed = rotation_signed_bytes(relay_id, agent_id, old_key.agent_key, new_key.agent_key, ts)
    sig_old = from_b64u(step.get("sigOld"))
    if sig_old is None or not verify_detached(old_key.sign_public_key, signed, sig_old):
        return "bad-sig-old"
    sig_new = from_b64u(step.get("sigNew"))
    if sig_new is None or not verify_detached(new_key.sign_public_key, signed, sig_new):
        return "bad-sig-new"
    return None


def verify_rotation_chain(
    relay_id: str, agent_id: str, from_key: str, to_key: str, rotations: list[dict[str, Any]]
) -> tuple[bool, str | list[dict[str, Any]]]:
    """Whether ``rotations`` (oldest first) lead from ``from_key`` (a pin) to ``to_key`` (the
    directory's key), every step verified: ``(True, steps followed)`` or ``(False, reason)``.

    The chain starts at a step whose old key is the pin and runs to the end of the list, each
    step's old key the previous step's new key. A key may come back (A -> B -> A -> C), so each
    start is tried; the list is bounded, and so is the work."""
    if len(rotations) > ROTATIONS_MAX:
        return False, "too-long"
    if not rotations or rotations[-1].get("newKey") != to_key:
        return False, "no-chain"
    fault: str | None = None
    for start, step in enumerate(rotations):
        if step.get("oldKey") != from_key:
            continue
        steps = rotations[start:]
        if any(steps[i - 1].get("newKey") != steps[i].get("oldKey") for i in range(1, len(steps))):
            continue
        fault = None
        for candidate in steps:
            fault = verify_rotation_step(relay_id, agent_id, candidate)
            if fault is not None:
                break
        if fault is None:
            return True, steps
    return False, fault or "no-chain"
