"""The secrets of this agent's one-time prekeys (PROTOCOL §1, §10): ``agents/<agentId>.prekeys.json``,
0600, written atomically, every change a read-modify-write under the file's lock (shared with the
TypeScript SDK's processes of the agent): a lost update could bring a deleted secret back."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from .b64u import b64u_of_length
from .files import file_lock, prekeys_file_path, read_text, write_file_atomic
from .jsonvalue import dumps, is_safe_timestamp

MAX_PREKEY_SECRETS = 1_000
PREKEY_SECRET_MAX_AGE_MS = 90 * 24 * 60 * 60_000
MAX_USED_IDS = 1_000


def _secret_entry(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and b64u_of_length(value.get("id"), 8) is not None
        and b64u_of_length(value.get("key"), 32) is not None
        and b64u_of_length(value.get("secretKey"), 32) is not None
        and is_safe_timestamp(value.get("createdAt"))
    )


class PrekeySecrets:
    def __init__(self, home: str, agent_id: str, now: Callable[[], int] | None = None) -> None:
        self.path = prekeys_file_path(home, agent_id)
        self._agent_id = agent_id
        self._now = now or (lambda: int(time.time() * 1000))

    def _read(self) -> tuple[list[dict[str, Any]], list[str], dict[str, Any], bool]:
        """``(secrets, used, other fields, corrupt)``; a missing file is empty, an unreadable one
        is empty and corrupt."""
        try:
            text = read_text(self.path)
            if text is None:
                return [], [], {}, False
            document = json.loads(text)
        except (ValueError, RecursionError):
            return [], [], {}, True
        if not isinstance(document, dict):
            return [], [], {}, True
        v = document.get("v")
        secrets = document.get("prekeys")
        used = document.get("used", [])
        if (
            isinstance(v, bool)
            or v != 1
            or document.get("agentId") != self._agent_id
            or not isinstance(secrets, list)
            or len(secrets) > MAX_PREKEY_SECRETS * 2
            or not all(_secret_entry(entry) for entry in secrets)
            or not isinstance(used, list)
            or len(used) > MAX_USED_IDS * 2
            or not all(b64u_of_length(entry, 8) is not None for entry in used)
        ):
            return [], [], {}, True
        extra = {k: v for k, v in document.items() if k not in ("v", "agentId", "prekeys", "used")}
        return list(secrets), list(used), extra, False

    def list(self) -> list[dict[str, Any]]:
        return self._read()[0]

    def find(self, prekey_id: str) -> dict[str, Any] | None:
        return next((entry for entry in self._read()[0] if entry["id"] == prekey_id), None)

    def was_used(self, prekey_id: str) -> bool:
        return prekey_id in self._read()[1]

    def add(self, secrets: list[dict[str, Any]]) -> None:
        """Adds secrets before their prekeys are published, so no claimed prekey lacks its secret."""

        def edit(
            kept: list[dict[str, Any]], used: list[str]
        ) -> tuple[list[dict[str, Any]], list[str]]:
            known = {entry["id"] for entry in kept}
            return kept + [entry for entry in secrets if entry["id"] not in known], used

        self._change(edit)

    def use(self, ids: list[str]) -> None:
        """Deletes the secrets of prekeys ``ids`` (their messages were read and recorded as seen),
        durably, and remembers the ids."""
        if not ids:
            return
        gone = list(dict.fromkeys(ids))

        def edit(
            kept: list[dict[str, Any]], used: list[str]
        ) -> tuple[list[dict[str, Any]], list[str]]:
            return (
                [entry for entry in kept if entry["id"] not in gone],
                [entry for entry in used if entry not in gone] + gone,
            )

        self._change(edit)

    def _change(
        self,
        edit: Callable[[list[dict[str, Any]], list[str]], tuple[list[dict[str, Any]], list[str]]],
    ) -> None:
        with file_lock(self.path, f'other DeadDrop process of "{self._agent_id}"'):
            secrets, used, extra, corrupt = self._read()
            oldest = self._now() - PREKEY_SECRET_MAX_AGE_MS
            next_secrets, next_used = edit(secrets, used)
            document = {
                "v": 1,
                "agentId": self._agent_id,
                "prekeys": [e for e in next_secrets if e["createdAt"] >= oldest][
                    -MAX_PREKEY_SECRETS:
                ],
                "used": next_used[-MAX_USED_IDS:],
                **extra,
            }
            # A file we could not read is kept aside, not overwritten: it may hold secrets owed.
            if corrupt:
                os.rename(self.path, f"{self.path}.corrupt-{self._now()}")
            write_file_atomic(self.path, dumps(document, indent=2) + "\n")
