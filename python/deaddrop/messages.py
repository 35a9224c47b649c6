"""What the client hands out: received messages (opened and judged, or unreadable with a problem),
delivery receipts, and the result of a send — with ``to_json()`` giving the objects the
TypeScript CLI prints with ``--json`` (docs/cli.md), field for field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .b64u import from_b64u

PROBLEM_DESCRIPTIONS = {
    "key-mismatch": "signed by a key that is not the one pinned for this sender",
    "unknown-sender": "the sender is not registered in the relay directory",
    "unpinned": "no pinned key for this sender (strict mode)",
    "lookup-failed": "the sender could not be looked up in the relay directory",
    "stale": "sent too long ago or in the future (clock or replay)",
    "replayed": "a copy of a message already received",
    "bad-encoding": "not valid base64url",
    "bad-version": "unknown envelope version",
    "too-short": "too short to be an envelope",
    "decrypt-failed": "cannot be decrypted with this identity",
    "bad-padding": "malformed padding",
    "bad-inner": "malformed message inside the envelope",
    "bad-sender-key": "the sender key inside is malformed or weak",
    "bad-signature": "the signature does not verify",
    "wrong-recipient": "addressed to another agent",
    "prekey-unknown": "sealed to a one-time prekey whose secret this agent does not have (used already, or lost)",
}


@dataclass
class Message:
    """One stored message, as the reader judged it.

    A readable message has ``sender``, ``body`` and the rest; ``verified`` is True only when its
    signature is valid, the sender's key is the pinned one and it is fresh — otherwise ``problem``
    says why (``key-mismatch``, ``stale``, …). An unreadable one (``unreadable`` True) has only
    ``id``, ``received_at`` and ``problem`` (``bad-inner``, ``decrypt-failed``, ``replayed``, …):
    it is reported once, and the cursor moves past it."""

    id: str
    received_at: int
    problem: str | None = None
    unreadable: bool = False
    sender: str | None = None
    sender_key: str | None = None
    verified: bool = False
    sent_at: int | None = None
    body: Any = None
    uid: str | None = None
    kind: str | None = None
    content_type: str | None = None
    filename: str | None = None
    reply_to: str | None = None
    thread_id: str | None = None
    group: dict[str, Any] | None = None
    receipt_requested: bool = False
    forward_secret: bool = False
    prekey_id: str | None = None
    fingerprint: str | None = None
    pin_source: str | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def text(self) -> str | None:
        """The body when it is text (a JSON string, not a file)."""
        return self.body if isinstance(self.body, str) and self.content_type is None else None

    @property
    def description(self) -> str | None:
        return None if self.problem is None else PROBLEM_DESCRIPTIONS.get(self.problem)

    def to_json(self, saved_path: str | None = None) -> dict[str, Any]:
        """The object ``deaddrop receive --json`` prints for this entry (``savedPath`` instead of
        the body for a saved file)."""
        if self.unreadable:
            entry: dict[str, Any] = {
                "id": self.id,
                "receivedAt": self.received_at,
                "error": self.problem,
            }
            if self.prekey_id is not None:
                entry["prekeyId"] = self.prekey_id
            return entry
        entry = {
            "id": self.id,
            "from": self.sender,
            "fromKey": self.sender_key,
            "verified": self.verified,
        }
        if not self.verified:
            entry["reason"] = self.problem
        entry.update(
            sentAt=self.sent_at,
            body=self.body,
            receivedAt=self.received_at,
            uid=self.uid,
            kind=self.kind,
        )
        if self.content_type is not None:
            entry["contentType"] = self.content_type
            if self.filename is not None:
                entry["filename"] = self.filename
            if self.data is not None:
                # JSON.stringify of a Uint8Array: its bytes keyed by index.
                entry["data"] = {str(index): byte for index, byte in enumerate(self.data)}
        if self.reply_to is not None:
            entry["replyTo"] = self.reply_to
        if self.thread_id is not None:
            entry["threadId"] = self.thread_id
        if self.group is not None:
            entry["group"] = self.group
        entry["receiptRequested"] = self.receipt_requested
        entry["forwardSecret"] = self.forward_secret
        if self.prekey_id is not None:
            entry["prekeyId"] = self.prekey_id
        entry["fromFingerprint"] = self.fingerprint
        entry["pinSource"] = self.pin_source
        if saved_path is not None:
            entry = {k: v for k, v in entry.items() if k not in ("body", "data")}
            entry["savedPath"] = saved_path
        return entry

    @staticmethod
    def file_data(content_type: str | None, body: Any) -> bytes | None:
        if content_type is None or not isinstance(body, str):
            return None
        return from_b64u(body)


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt (PROTOCOL §7): ``sender`` says it received the messages whose uids are
    in ``of``. Only a ``verified`` receipt counts."""

    id: str
    uid: str
    sender: str
    of: list[str]
    status: str
    sent_at: int
    received_at: int
    verified: bool
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": self.id,
            "uid": self.uid,
            "from": self.sender,
            "of": list(self.of),
            "status": self.status,
            "sentAt": self.sent_at,
            "receivedAt": self.received_at,
            "verified": self.verified,
        }
        if not self.verified:
            event["reason"] = self.problem
        return event


@dataclass(frozen=True)
class SentMessage:
    """What ``Agent.send`` did: the relay's id, the message's own ``uid`` (for replies and
    receipts), the key it was sealed to and whether it is forward secret (sealed to a prekey)."""

    id: str
    uid: str
    to: str
    recipient_key: str
    recipient_fingerprint: str
    pin_source: str
    pin_change: str
    forward_secret: bool
    bytes: int
    sent_at: int
    received_at: int
    expires_at: int
    duplicate: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "to": self.to,
            "recipientKey": self.recipient_key,
            "recipientFingerprint": self.recipient_fingerprint,
            "pinSource": self.pin_source,
            "pinChange": self.pin_change,
            "forwardSecret": self.forward_secret,
            "bytes": self.bytes,
            "sentAt": self.sent_at,
            "receivedAt": self.received_at,
            "expiresAt": self.expires_at,
            "duplicate": self.duplicate,
        }
