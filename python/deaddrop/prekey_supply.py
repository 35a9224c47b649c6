"""Keeping the relay stocked with this agent's one-time prekeys (PROTOCOL §10): 50 at registration,
``min(50, 200 - held)`` more whenever fewer than 20 remain — each secret written to the prekey file
before its prekey is published, so no claimed prekey lacks its secret — and the secrets of read
messages deleted once they are recorded as seen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .b64u import to_b64u
from .errors import DeadDropError
from .identity import AgentKeys
from .messages import Message
from .prekeys import PrekeySecrets
from .statements import generate_prekey

PREKEY_BATCH = 50
PREKEY_LOW_WATER = 20
PREKEYS_HELD_MAX = 200
PUBLISH_PREKEYS_MAX = 100
# While forward-secret mail is read, the relay's count is asked at most this often (at once when
# the estimate runs low): other senders' claims — a drain among them — are seen only so.
_RECHECK_MS = 5_000


class PrekeySupply:
    def __init__(
        self,
        agent_id: str,
        keys: Callable[[], AgentKeys],
        secrets: PrekeySecrets,
        stats: Callable[[], dict[str, Any]],
        publish: Callable[[list[dict[str, str]]], dict[str, Any]],
        now: Callable[[], int],
        warn: Callable[[str], None],
    ) -> None:
        self._agent_id = agent_id
        self._keys = keys
        self._secrets = secrets
        self._stats = stats
        self._publish = publish
        self._now = now
        self._warn = warn
        # How many the relay holds, as of the last count less the v2 messages read since.
        self._estimate: int | None = None
        self._checked_at = -(10**15)
        self._still_to_delete: set[str] = set()

    def top_up(self) -> int | None:
        """Publishes a batch when the relay holds fewer than 20; how many it holds after, or None
        for a relay without prekeys."""
        held = self._stats().get("prekeys")
        self._checked_at = self._now()
        if held is None or held >= PREKEY_LOW_WATER:
            self._estimate = held
            return held
        count = min(PREKEY_BATCH, PREKEYS_HELD_MAX - held, PUBLISH_PREKEYS_MAX)
        generated = [generate_prekey(self._agent_id, self._keys()) for _ in range(count)]
        now = self._now()
        self._secrets.add(
            [
                {
                    "id": item.prekey["id"],
                    "key": item.prekey["key"],
                    "secretKey": to_b64u(item.secret_key),
                    "createdAt": now,
                }
                for item in generated
            ]
        )
        published = self._publish([item.prekey for item in generated])
        self._estimate = int(published["total"])
        return self._estimate

    def opened(self) -> None:
        """A forward-secret message was read: its prekey is used up; top up when running low."""
        if self._estimate is not None:
            self._estimate -= 1
        low = self._estimate is None or self._estimate < PREKEY_LOW_WATER
        if not low and self._now() - self._checked_at < _RECHECK_MS:
            return
        try:
            self.top_up()
        except (DeadDropError, OSError) as error:
            self._warn(f"could not publish one-time prekeys: {error}")

    def forget_used(self, entries: list[Message]) -> None:
        """Deletes the secrets recorded entries used. A failure costs forward secrecy for those
        messages until the next success, never the messages: warned, and tried again."""
        ids = list(self._still_to_delete) + [
            e.prekey_id for e in entries if e.prekey_id is not None
        ]
        if not ids:
            return
        try:
            self._secrets.use(ids)
            self._still_to_delete.difference_update(ids)
        except (DeadDropError, OSError) as error:
            self._still_to_delete.update(ids)
            self._warn(
                f"could not delete used one-time prekey secrets (tried again at the next deletion): {error}"
            )
