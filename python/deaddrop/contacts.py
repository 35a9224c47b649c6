"""Whose key is whose (PROTOCOL §2 "Pinning", §10 rotation): the pins on file, the directory
lookups that make first-contact pins (trust on first use) for senders and recipients, keys given
out of band, and signed rotation chains that move a pin. Never a key from a message itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import answers
from .errors import DeadDropError
from .identity import AgentPublicKey, fingerprint_of, is_agent_id, parse_agent_key
from .keystore import Identity, Pin, save_pin
from .relay import Relay
from .statements import verify_rotation_chain

Retrying = Callable[[Callable[[int], Any]], Any]


@dataclass(frozen=True)
class Recipient:
    """The key a message is sealed to, its pin, and whether the pin is new or replaced."""

    key: AgentPublicKey
    pin: Pin
    change: str  # "none" | "new" | "replaced"


@dataclass(frozen=True)
class SenderPin:
    """The pin a sender is judged by, or why there is none."""

    pin: Pin | None
    problem: str | None = None


class Contacts:
    def __init__(
        self,
        relay: Relay,
        identity: Callable[[], Identity],
        relay_id: Callable[[], str],
        now: Callable[[], int],
        warn: Callable[[str], None],
        strict: bool,
        checked: Callable[[str, Callable[[Any], Any], Any], Any],
    ) -> None:
        self._relay = relay
        self._identity = identity
        self._relay_id = relay_id
        self._now = now
        self._warn = warn
        self.strict = strict
        self._checked = checked

    def save(self, peer_id: str, pin: Pin) -> None:
        """Saves one pin: a read-modify-write of the identity file under its lock."""
        identity = self._identity()
        identity.pins = save_pin(identity, peer_id, pin)

    def own_pin(self) -> Pin:
        identity = self._identity()
        return Pin(identity.agent_key, "explicit", identity.created_at)

    def lookup(self, agent_id: str) -> dict[str, Any]:
        """The directory's record for ``agent_id``, checked to be for it, with a usable key."""
        assert_agent_id(agent_id)
        try:
            answer = self._relay.request("directory.lookup", {"agentId": agent_id})
        except DeadDropError as error:
            if error.reason == "AGENT_NOT_FOUND":
                raise DeadDropError(
                    "AGENT_NOT_FOUND",
                    f'no agent "{agent_id}" is registered on {self._relay.url}',
                    http_status=error.http_status,
                ) from None
            raise
        record = self._checked("directory.lookup", answers.check_directory_record, answer)
        if record["agentId"] != agent_id:
            raise self._relay.invalid(
                f'its directory answered for "{record["agentId"]}", not "{agent_id}"'
            )
        if parse_agent_key(record["agentKey"]) is None:
            raise self._relay.invalid(
                f'its directory holds a malformed or weak key for "{agent_id}"'
            )
        return record

    def follow_rotation(self, agent_id: str, pin: Pin, record: dict[str, Any]) -> Pin | None:
        """The directory's key as the new pin (its source kept) when verified rotations lead there
        from ``pin``; None otherwise, and the caller refuses the key as before."""
        if record["agentKey"] == pin.key:
            return pin
        ok, steps = verify_rotation_chain(
            self._relay_id(), agent_id, pin.key, record["agentKey"], record.get("rotations", [])
        )
        if not ok:
            return None
        self._warn(
            f'key rotated for "{agent_id}" (fingerprint {fingerprint_of(pin.key)} → {fingerprint_of(record["agentKey"])}), following {len(steps)} signed rotation(s) in the relay directory'
        )
        return Pin(record["agentKey"], pin.source, self._now())

    def check_explicit_key(self, agent_id: str, given: Pin, retrying: Retrying) -> Pin:
        """Refuses (KEY_MISMATCH) a key given for ``agent_id`` that is not the directory's — a
        safety net, not a source of trust: a directory that cannot answer lets the key stand, and a
        key the agent rotated away from is followed along its chain. The pin to save."""
        try:
            record = retrying(lambda _timeout: self.lookup(agent_id))
        except DeadDropError:
            return given
        if record["agentKey"] == given.key:
            return given
        moved = self.follow_rotation(agent_id, given, record)
        if moved is not None:
            return moved
        raise DeadDropError(
            "KEY_MISMATCH",
            f"the key given for \"{agent_id}\" (fingerprint {fingerprint_of(given.key)}) is not the one {self._relay.url} has registered for it (fingerprint {fingerprint_of(record['agentKey'])}); check that you copied {agent_id}'s own key (`deaddrop key {agent_id}` on their machine), or pass --accept-key to use it anyway",
        )

    def resolve_recipient(
        self, to: str, key: str | None, accept_key: bool, accept_new_key: bool, retrying: Retrying
    ) -> Recipient:
        """The key to seal a message to ``to`` with: this identity's own for itself, a key given
        out of band, the pin, or on first contact the directory's. Saving the pin is the caller's,
        once sealed."""
        identity = self._identity()
        if to == identity.agent_id:
            if key is not None and key != identity.agent_key:
                raise DeadDropError(
                    "INVALID_AGENT_KEY",
                    f"{to} is this identity: a message to yourself is sealed to your own key, not the one given",
                )
            return Recipient(identity.keys.public, self.own_pin(), "none")
        existing = identity.pins.get(to)
        if self.strict and existing is None and key is None:
            raise not_pinned(to)
        if key is not None:
            require_agent_key(key, f'the key given for "{to}"')
            if existing is not None and existing.key == key and existing.source == "explicit":
                return Recipient(
                    require_agent_key(key, f'the pinned key for "{to}"'), existing, "none"
                )
            pin = Pin(key, "explicit", self._now())
            if not accept_key:
                pin = self.check_explicit_key(to, pin, retrying)
            unchanged = (
                existing is not None and existing.key == pin.key and existing.source == "explicit"
            )
            return Recipient(
                require_agent_key(pin.key, f'the key for "{to}"'),
                existing if unchanged and existing is not None else pin,
                "none" if unchanged else "new" if existing is None else "replaced",
            )
        record = retrying(lambda _timeout: self.lookup(to))
        directory_key = record["agentKey"]
        if existing is None:
            pin = Pin(directory_key, "directory", self._now())
            return Recipient(require_agent_key(directory_key, f'the key for "{to}"'), pin, "new")
        if existing.key == directory_key:
            return Recipient(
                require_agent_key(existing.key, f'the pinned key for "{to}"'), existing, "none"
            )
        if accept_new_key:
            if self.strict:
                raise not_pinned(to)
            pin = Pin(directory_key, "directory", self._now())
            return Recipient(
                require_agent_key(directory_key, f'the key for "{to}"'), pin, "replaced"
            )
        moved = self.follow_rotation(to, existing, record)
        if moved is not None:
            return Recipient(
                require_agent_key(moved.key, f'the rotated key for "{to}"'), moved, "replaced"
            )
        raise DeadDropError(
            "KEY_CHANGED",
            f'the relay directory\'s key for "{to}" (fingerprint {fingerprint_of(directory_key)}) differs from your pin (fingerprint {fingerprint_of(existing.key)}, from the {describe_source(existing.source)} on {iso_time(existing.pinned_at)}); confirm the new fingerprint with {to} out of band, then pass their new agent key explicitly (--key)',
        )

    def follow_recipient_rotation(self, to: str, pin: Pin) -> Pin | None:
        """The pin for ``to`` moved along the directory's verified rotations, or None: asked when
        a claimed prekey is signed by another key than the pin's (a key kept without a lookup)."""
        try:
            record = self.lookup(to)
        except DeadDropError:
            return None
        return None if record["agentKey"] == pin.key else self.follow_rotation(to, pin, record)

    def sender_pin(self, sender: str, failed: dict[str, SenderPin]) -> SenderPin:
        """The pin a message from ``sender`` is judged by; an unpinned sender is looked up once
        per batch and pinned (trust on first use)."""
        identity = self._identity()
        if sender == identity.agent_id:
            return SenderPin(self.own_pin())
        pinned = identity.pins.get(sender)
        if pinned is not None:
            return SenderPin(pinned)
        if self.strict:
            return SenderPin(None, "unpinned")
        if sender in failed:
            return failed[sender]
        try:
            record = self.lookup(sender)
        except DeadDropError as error:
            verdict = SenderPin(
                None, "unknown-sender" if error.reason == "AGENT_NOT_FOUND" else "lookup-failed"
            )
            failed[sender] = verdict
            return verdict
        pin = Pin(record["agentKey"], "directory", self._now())
        self.save(sender, pin)
        return SenderPin(pin)

    def follow_sender_rotation(
        self, sender: str, sender_key: str, lookups: dict[str, dict[str, Any] | None]
    ) -> Pin | None:
        """A message from ``sender`` carried ``sender_key``, not the pinned key: the pin moves (and
        is saved) when the directory shows a verified chain from the pin to it; else None."""
        identity = self._identity()
        pinned = identity.pins.get(sender)
        if pinned is None or sender == identity.agent_id:
            return None
        # One lookup per sender per batch: anyone can send mail naming a pinned sender.
        if sender not in lookups:
            try:
                lookups[sender] = self.lookup(sender)
            except DeadDropError:
                lookups[sender] = None
        record = lookups[sender]
        if record is None or record["agentKey"] != sender_key:
            return None
        moved = self.follow_rotation(sender, pinned, record)
        if moved is not None:
            self.save(sender, moved)
        return moved


def assert_agent_id(agent_id: str) -> None:
    if not is_agent_id(agent_id):
        raise DeadDropError(
            "INVALID_AGENT_ID",
            f'"{agent_id}" is not a valid agent id: use 1–64 of a-z 0-9 . _ - starting with a letter or digit',
        )


def require_agent_key(agent_key: str, what: str) -> AgentPublicKey:
    key = parse_agent_key(agent_key)
    if key is None:
        raise DeadDropError(
            "INVALID_AGENT_KEY",
            f"{what} is not a valid agent key (expected ddk1_ followed by 86 base64url characters)",
        )
    return key


def not_pinned(to: str) -> DeadDropError:
    return DeadDropError(
        "NOT_PINNED",
        f'no trusted key for "{to}" and explicit keys are required: get {to}\'s agent key out of band (`deaddrop key {to}` on their machine) and pass it explicitly (--key)',
    )


def describe_source(source: str) -> str:
    return "relay directory" if source == "directory" else "key you gave explicitly"


def iso_time(ms: int) -> str:
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms after 1970"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
