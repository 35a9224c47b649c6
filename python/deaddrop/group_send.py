"""The parts of a group send (PROTOCOL §8) that are not the agent's own state, as the TypeScript
SDK's group-send.ts has them: which recipients a send may name, the group every copy carries, how
the sealed copies are split into ``sendMany`` calls the relay accepts, how a refused item becomes
that recipient's error, and which errors concern one recipient rather than the relay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .contacts import assert_agent_id
from .errors import DeadDropError
from .inner import GROUP_MEMBERS_MAX, checked_group
from .messages import SentMessage

SEND_MANY_ITEMS_MAX = 100
# A relay that states no maxBatchBytes takes this many of its largest messages in one sendMany.
DEFAULT_BATCH_MESSAGES = 4


@dataclass(frozen=True)
class GroupSendResult:
    """What became of one recipient's copy: ``sent`` when ``ok``, else ``error``."""

    to: str
    ok: bool
    sent: SentMessage | None = None
    error: DeadDropError | None = None


@dataclass(frozen=True)
class GroupSent:
    """A group send: the group every copy named (sender first) and a result per recipient, in the
    order they were given."""

    group_id: str
    members: list[str]
    results: list[GroupSendResult]

    @property
    def failed(self) -> list[GroupSendResult]:
        return [result for result in self.results if not result.ok]


def group_recipients(to: object, self_id: str) -> list[str]:
    """The recipients, checked: 1–99 distinct agent ids, not the sender (the group's first
    member)."""
    most = GROUP_MEMBERS_MAX - 1
    if not isinstance(to, (list, tuple)) or not 0 < len(to) <= most:
        raise DeadDropError(
            "INVALID_MESSAGE",
            f"a group send names 1–{most} recipients (the group has at most {GROUP_MEMBERS_MAX} members, you included)",
        )
    seen: list[str] = []
    for agent_id in to:
        if not isinstance(agent_id, str):
            raise DeadDropError("INVALID_AGENT_ID", "recipients are agent ids")
        assert_agent_id(agent_id)
        if agent_id == self_id:
            raise DeadDropError(
                "INVALID_MESSAGE",
                f'"{agent_id}" is you: a group send goes to the other members (you are in the group already)',
            )
        if agent_id in seen:
            raise DeadDropError(
                "INVALID_MESSAGE", f'recipient "{agent_id}" is named more than once'
            )
        seen.append(agent_id)
    return seen


def group_for_send(group: object, self_id: str, recipients: list[str]) -> dict[str, Any]:
    """The group to write: well formed, with the sender and every recipient among its members."""
    checked = checked_group(group)
    if checked is None:
        raise DeadDropError(
            "INVALID_MESSAGE",
            f"group: an id of 16 bytes in canonical base64url and 2–{GROUP_MEMBERS_MAX} distinct agent ids as members",
        )
    for member in [self_id, *recipients]:
        if member not in checked["members"]:
            raise DeadDropError(
                "INVALID_MESSAGE",
                f'group: "{member}" writes or receives this message but is not one of its members',
            )
    return checked


def batch_bytes_limit(limits: dict[str, Any]) -> int:
    """What one ``sendMany`` may carry, in decoded ciphertext bytes (PROTOCOL §8)."""
    stated = limits.get("maxBatchBytes")
    return (
        int(stated)
        if stated is not None
        else DEFAULT_BATCH_MESSAGES * int(limits["maxMessageBytes"])
    )


class _Sized(Protocol):
    @property
    def bytes(self) -> int: ...


Item = TypeVar("Item", bound=_Sized)


def send_many_chunks(items: Sequence[Item], max_batch_bytes: int) -> list[list[Item]]:
    """Consecutive runs of ``items`` that one ``sendMany`` takes: at most 100 items, and decoded
    ciphertexts adding up to at most ``max_batch_bytes`` (an item alone is never over it: each is
    at most ``maxMessageBytes``, and a relay's batch limit is at least that)."""
    chunks: list[list[Item]] = []
    current: list[Item] = []
    size = 0
    for item in items:
        full = len(current) == SEND_MANY_ITEMS_MAX or size + item.bytes > max_batch_bytes
        if full and current:
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += item.bytes
    if current:
        chunks.append(current)
    return chunks


def refused_item_error(refused: dict[str, Any], relay_url: str) -> DeadDropError:
    """A refused ``sendMany`` item as the error ``send`` would have raised for it."""
    message = refused["message"] or f"the relay at {relay_url} refused it"
    return DeadDropError(refused["reason"], message)


# Failures of the relay or this client, not of one recipient: a group send stops on them.
_RELAY_WIDE_REASONS = frozenset(
    {
        "RELAY_UNREACHABLE",
        "RELAY_INVALID_RESPONSE",
        "RELAY_ERROR",
        "STORE_UNAVAILABLE",
        "API_KEY_INVALID",
        "RATE_LIMITED",
        "INVALID_CONFIG",
        "IDENTITY_CORRUPT",
    }
)


def is_recipient_error(error: BaseException) -> bool:
    """An error that concerns one recipient (its key, its registration, its size): a group send
    records it for that recipient and goes on with the others."""
    return isinstance(error, DeadDropError) and error.reason not in _RELAY_WIDE_REASONS
