"""One stored message -> one Message (PROTOCOL §2, §10): open and authenticate the envelope (with
the identity key, the keys a rotation retired, or the one-time prekey a v2 envelope names), drop
replays, then judge the sender against its pin and the message against the freshness window.
Whatever the ciphertext holds, the result is a Message — unreadable ones carry a problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .b64u import from_b64u
from .contacts import SenderPin
from .envelope import Opened, open_message, open_message_v2, read_prekey_id
from .identity import AgentKeys
from .keystore import Pin
from .messages import Message
from .prekeys import PrekeySecrets
from .state import ReplayCache, is_fresh


@dataclass(frozen=True)
class ReadContext:
    agent_id: str
    keys: AgentKeys
    # Keys mail may still be sealed to: a pending rotation's, then retired ones, newest first.
    other_keys: list[AgentKeys]
    seen: ReplayCache
    # How far back a message may have been sent: never the relay's claim alone.
    window_ms: int
    now: int
    # Never from the message itself: a pin on file, or a directory lookup (trust on first use).
    sender_pin: Callable[[str], SenderPin]
    prekeys: PrekeySecrets
    # A pin moved along verified rotations to a sender's new key, or None.
    follow_rotation: Callable[[str, str], Pin | None]


def _open(ciphertext: str, context: ReadContext) -> tuple[Opened | None, str | None]:
    """The envelope opened with the key it names; ``(None, id)`` for a prekey this agent lacks."""
    prekey_id = read_prekey_id(ciphertext)
    if prekey_id is None:
        opened = open_message(ciphertext, context.agent_id, context.keys)
        if not opened.ok:
            for keys in context.other_keys:
                retried = open_message(ciphertext, context.agent_id, keys)
                if retried.ok:
                    return retried, None
        return opened, None
    kept = context.prekeys.find(prekey_id)
    secret = None if kept is None else from_b64u(kept["secretKey"])
    if secret is None:
        return None, prekey_id
    return open_message_v2(ciphertext, context.agent_id, prekey_id, secret), prekey_id


def read_stored_message(stored: dict[str, Any], context: ReadContext) -> Message:
    message_id, received_at = stored["id"], stored["receivedAt"]
    opened, prekey_id = _open(stored["ciphertext"], context)
    if opened is None or not opened.ok:
        reason = "prekey-unknown" if opened is None else opened.reason
        # A prekey whose message was read already: this is a second copy of it.
        if (
            reason == "prekey-unknown"
            and prekey_id is not None
            and context.prekeys.was_used(prekey_id)
        ):
            reason = "replayed"
        return Message(message_id, received_at, reason, unreadable=True)
    inner = opened.message
    assert inner is not None and opened.sender_key is not None
    if inner["id"] in context.seen:
        return Message(message_id, received_at, "replayed", unreadable=True, prekey_id=prekey_id)
    context.seen.remember(inner["id"], inner["sentAt"], context.now)
    try:
        sender = context.sender_pin(inner["from"])
    except BaseException:
        # Not judged after all: the message must come again, not as a replay of itself.
        context.seen.forget(inner["id"])
        raise
    problem = sender.problem
    if problem is None and (sender.pin is None or sender.pin.key != inner["fromKey"]):
        moved = context.follow_rotation(inner["from"], inner["fromKey"])
        if moved is not None and moved.key == inner["fromKey"]:
            sender = SenderPin(moved)
        else:
            problem = "key-mismatch"
    if problem is None and not is_fresh(
        inner["sentAt"], context.now, context.window_ms, context.seen.forgotten_through
    ):
        problem = "stale"
    content_type = inner.get("contentType")
    return Message(
        id=message_id,
        received_at=received_at,
        problem=problem,
        sender=inner["from"],
        sender_key=inner["fromKey"],
        verified=problem is None,
        sent_at=inner["sentAt"],
        body=inner["body"],
        uid=inner["id"],
        kind=inner["kind"],
        content_type=content_type,
        filename=inner.get("filename"),
        reply_to=inner.get("replyTo"),
        thread_id=inner.get("threadId"),
        group=inner.get("group"),
        receipt_requested=inner.get("receipt") is True,
        forward_secret=prekey_id is not None,
        prekey_id=prekey_id,
        fingerprint=opened.sender_key.fingerprint,
        pin_source=None if sender.pin is None else sender.pin.source,
        data=Message.file_data(content_type, inner["body"]),
    )
