"""The per-agent state file ``agents/<agentId>.state.json`` (PROTOCOL §1, §2): the poll cursor per
relay id, the replay cache of seen inner ids with its ``forgottenThrough`` floor, and the message
memory (``recent``, ``deliveries``). One line of JSON and a newline, written atomically; the file
format is the TypeScript SDK's, so one agent can be read by either client in turn."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import DeadDropError
from .files import ensure_home, read_text, state_file_path, write_file_atomic
from .identity import is_agent_id
from .inner import checked_group, is_uid
from .jsonvalue import dumps, is_safe_timestamp

INITIAL_CURSOR = "0-0"
MESSAGE_ID_PATTERN = re.compile(r"(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})")
RELAY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
FRESHNESS_SKEW_MS = 5 * 60_000
REPLAY_MEMORY_MS = 10 * 60_000
MAX_FUTURE_DATED_IDS = 1_000
MEMORY_LIMIT = 256


def is_message_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= 33
        and MESSAGE_ID_PATTERN.fullmatch(value) is not None
    )


def compare_message_ids(a: str, b: str) -> int:
    """Relay ids in the relay's order: by ``ms``, then ``seq``, both numerically."""
    a_ms, _, a_seq = a.partition("-")
    b_ms, _, b_seq = b.partition("-")
    left = (int(a_ms or 0), int(a_seq or 0))
    right = (int(b_ms or 0), int(b_seq or 0))
    return (left > right) - (left < right)


def is_fresh(sent_at: int, now: int, window_ms: int, forgotten_through: int = 0) -> bool:
    """``sentAt`` within [now - window - 5 min, now + 5 min] and after ``forgottenThrough``."""
    return now - window_ms - FRESHNESS_SKEW_MS <= sent_at <= now + FRESHNESS_SKEW_MS and (
        sent_at > forgotten_through
    )


def freshness_window_ms(relay_ttl_seconds: int, max_message_age_ms: int) -> int:
    return min(relay_ttl_seconds * 1000, max_message_age_ms)


class ReplayCache:
    """Seen inner ids -> their ``sentAt`` (PROTOCOL §2 "Remembering ids")."""

    def __init__(self, entries: dict[str, int] | None = None, forgotten_through: int = 0) -> None:
        self.sent_at: dict[str, int] = dict(entries or {})
        self.forgotten_through = forgotten_through

    def __contains__(self, uid: str) -> bool:
        return uid in self.sent_at

    def remember(self, uid: str, sent_at: int, now: int) -> None:
        previous = self.sent_at.get(uid)
        self.sent_at[uid] = sent_at if previous is None else max(previous, sent_at)
        if sent_at > now + FRESHNESS_SKEW_MS:
            self._bound_future_dated(now)

    def forget(self, uid: str) -> None:
        self.sent_at.pop(uid, None)

    def absorb(self, other: ReplayCache) -> None:
        if other is self:
            return
        for uid, sent_at in other.sent_at.items():
            mine = self.sent_at.get(uid)
            self.sent_at[uid] = sent_at if mine is None else max(mine, sent_at)
        self.forgotten_through = max(self.forgotten_through, other.forgotten_through)

    def prune(self, now: int, window_ms: int) -> int:
        """Forgets ids sent before ``now - window - 10 min``, raising ``forgotten_through``."""
        cutoff = now - window_ms - REPLAY_MEMORY_MS
        gone = [uid for uid, sent_at in self.sent_at.items() if sent_at < cutoff]
        for uid in gone:
            self.forgotten_through = max(self.forgotten_through, self.sent_at.pop(uid))
        return len(gone)

    def _bound_future_dated(self, now: int) -> None:
        horizon = now + FRESHNESS_SKEW_MS
        future = [(uid, sent_at) for uid, sent_at in self.sent_at.items() if sent_at > horizon]
        if len(future) <= MAX_FUTURE_DATED_IDS:
            return
        future.sort(key=lambda item: item[1], reverse=True)
        for uid, _ in future[: len(future) - MAX_FUTURE_DATED_IDS]:
            del self.sent_at[uid]


def _received_summary(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if not (
        is_message_id(value.get("id"))
        and is_uid(value.get("uid"))
        and is_agent_id(value.get("from"))
        and is_safe_timestamp(value.get("sentAt"))
        and is_safe_timestamp(value.get("receivedAt"))
        and isinstance(value.get("verified"), bool)
    ):
        return None
    if "threadId" in value and not is_uid(value["threadId"]):
        return None
    if "group" in value and checked_group(value["group"]) is None:
        return None
    return value


def _delivery_record(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if not (
        is_uid(value.get("uid"))
        and is_agent_id(value.get("to"))
        and is_message_id(value.get("id"))
        and is_safe_timestamp(value.get("sentAt"))
    ):
        return None
    if "deliveredAt" in value and not is_safe_timestamp(value["deliveredAt"]):
        return None
    return value


def _bounded_log(items: Any, check: Any) -> dict[str, dict[str, Any]]:
    """A list read as a log keyed by uid; a malformed list reads as empty (it loses no mail)."""
    if not isinstance(items, list) or len(items) > MEMORY_LIMIT:
        return {}
    checked = [check(item) for item in items]
    if any(item is None for item in checked):
        return {}
    log: dict[str, dict[str, Any]] = {}
    for item in checked:
        log.pop(item["uid"], None)
        log[item["uid"]] = item
    return log


def _put(log: dict[str, dict[str, Any]], item: dict[str, Any]) -> None:
    log.pop(item["uid"], None)
    log[item["uid"]] = item
    while len(log) > MEMORY_LIMIT:
        del log[next(iter(log))]


@dataclass
class MailboxState:
    cursors: dict[str, str]
    seen: ReplayCache
    recent: dict[str, dict[str, Any]]
    deliveries: dict[str, dict[str, Any]]
    extra: dict[str, Any]

    def cursor(self, relay_id: str) -> str:
        return self.cursors.get(relay_id, INITIAL_CURSOR)

    def advance_cursor(self, relay_id: str, message_id: str) -> None:
        """Moves the cursor forward to ``message_id``, never back."""
        if compare_message_ids(message_id, self.cursor(relay_id)) > 0:
            self.cursors[relay_id] = message_id

    def received(self, summary: dict[str, Any]) -> None:
        _put(self.recent, summary)

    def receipt(self, sender: str, of: list[str], sent_at: int, verified: bool) -> None:
        """A verified receipt marks the messages it names as delivered, only those sent to it."""
        if not verified:
            return
        for uid in of:
            record = self.deliveries.get(uid)
            if record is None or record["to"] != sender or "deliveredAt" in record:
                continue
            _put(self.deliveries, {**record, "deliveredAt": sent_at})

    def sent_asking_receipt(self, uid: str, to: str, message_id: str, sent_at: int) -> None:
        _put(self.deliveries, {"uid": uid, "to": to, "id": message_id, "sentAt": sent_at})

    def find_received(self, id_or_uid: str) -> dict[str, Any] | None:
        found = self.recent.get(id_or_uid)
        if found is not None:
            return found
        for summary in reversed(list(self.recent.values())):
            if summary["id"] == id_or_uid:
                return summary
        return None

    def to_json(self) -> dict[str, Any]:
        document = {
            "v": 1,
            "cursors": dict(self.cursors),
            "seen": dict(self.seen.sent_at),
            "forgottenThrough": self.seen.forgotten_through,
            "recent": list(self.recent.values()),
            "deliveries": list(self.deliveries.values()),
        }
        # Fields another client (or a later version) wrote are kept.
        return {**document, **{k: v for k, v in self.extra.items() if k not in document}}


_KNOWN = ("v", "cursors", "seen", "forgottenThrough", "recent", "deliveries")


def _corrupt(path: str) -> DeadDropError:
    return DeadDropError(
        "IDENTITY_CORRUPT",
        f"{path} is not a valid DeadDrop state file; move it aside to start over (messages already seen may then be shown again)",
    )


def load_state(home: str, agent_id: str) -> MailboxState:
    path = state_file_path(home, agent_id)
    try:
        text = read_text(path)
        document = None if text is None else json.loads(text)
    except (OSError, ValueError, RecursionError):
        raise _corrupt(path) from None
    if document is None:
        return MailboxState({}, ReplayCache(), {}, {}, {})
    if not isinstance(document, dict):
        raise _corrupt(path)
    v = document.get("v")
    cursors = document.get("cursors", {})
    seen = document.get("seen", {})
    forgotten = document.get("forgottenThrough", 0)
    if (
        isinstance(v, bool)
        or v != 1
        or not isinstance(cursors, dict)
        or not all(
            RELAY_ID_PATTERN.fullmatch(relay) is not None and is_message_id(cursor)
            for relay, cursor in cursors.items()
        )
        or not isinstance(seen, dict)
        or not all(len(uid) <= 64 and is_safe_timestamp(sent_at) for uid, sent_at in seen.items())
        or not is_safe_timestamp(forgotten)
    ):
        raise _corrupt(path)
    return MailboxState(
        dict(cursors),
        ReplayCache({uid: int(sent_at) for uid, sent_at in seen.items()}, int(forgotten)),
        _bounded_log(document.get("recent", []), _received_summary),
        _bounded_log(document.get("deliveries", []), _delivery_record),
        {k: v for k, v in document.items() if k not in _KNOWN},
    )


def save_state(home: str, agent_id: str, state: MailboxState, now: int, window_ms: int) -> None:
    """Prunes the replay cache past the freshness window, then writes the file atomically."""
    state.seen.prune(now, window_ms)
    ensure_home(home)
    write_file_atomic(state_file_path(home, agent_id), dumps(state.to_json()) + "\n")
