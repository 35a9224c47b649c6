"""Identities on disk (PROTOCOL §1): ``agents/<agentId>.json`` holds the seed, the relay URL, the pins
and, after rotations, the retired and pending seeds. Written atomically, 0600, never overwritten by
``create_identity``; every later change is a read-modify-write under the file's lock, keeping the
fields this client does not know (the TypeScript SDK, or a later version, may have written them)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .b64u import b64u_of_length, to_b64u
from .config import normalize_relay_url
from .errors import DeadDropError
from .files import (
    agents_dir,
    ensure_home,
    file_lock,
    file_stamp,
    identity_file_path,
    read_with_stamp,
    resolve_home,
    state_file_path,
    write_file_atomic,
)
from .identity import AgentKeys, generate_seed, is_agent_id
from .jsonvalue import dumps, is_safe_timestamp

PREVIOUS_SEEDS_MAX = 16
# A rotation holds the lock across two relay requests; a pin saved meanwhile waits for it.
IDENTITY_LOCK_WAIT_S = 90.0
PIN_SOURCES = ("explicit", "directory")
RESERVED_SUFFIXES = (".state", ".prekeys")


@dataclass(frozen=True)
class Pin:
    key: str
    source: str
    pinned_at: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "source": self.source, "pinnedAt": self.pinned_at}


@dataclass
class Identity:
    """A loaded identity: derived keys (the seed stays on disk), pins and the keys mail may still
    be sealed to (a pending rotation's first, then retired ones, newest first)."""

    agent_id: str
    keys: AgentKeys
    relay_url: str
    created_at: int
    pins: dict[str, Pin]
    other_keys: list[AgentKeys]
    pending_keys: AgentKeys | None
    home: str
    stamp: str | None = field(default=None, compare=False)

    @property
    def agent_key(self) -> str:
        return self.keys.agent_key

    @property
    def fingerprint(self) -> str:
        return self.keys.fingerprint

    @property
    def path(self) -> str:
        return identity_file_path(self.home, self.agent_id)


def check_agent_id(agent_id: str) -> None:
    if not is_agent_id(agent_id):
        raise DeadDropError(
            "INVALID_AGENT_ID",
            f'"{agent_id}" is not a valid agent id: use 1–64 of a-z 0-9 . _ - starting with a letter or digit',
        )
    # `<id>.state.json` and `<id>.prekeys.json` are agent <id>'s: such an id would name its files.
    for suffix in RESERVED_SUFFIXES:
        if agent_id.endswith(suffix):
            raise DeadDropError("INVALID_AGENT_ID", f'agent ids ending in "{suffix}" are reserved')


def _corrupt(path: str, problem: str) -> DeadDropError:
    # Never echoes the file's contents (nor a parser message quoting them): seeds.
    return DeadDropError(
        "IDENTITY_CORRUPT", f"{path} is not a valid DeadDrop identity file ({problem})"
    )


def _checked_file(document: Any, path: str, agent_id: str) -> dict[str, Any]:
    """The identity file's JSON, checked as the TypeScript SDK checks it; unknown fields kept."""
    if not isinstance(document, dict):
        raise _corrupt(path, "bad field: (root)")
    bad: list[str] = []
    v = document.get("v")
    if isinstance(v, bool) or v != 1:
        bad.append("v")
    if not is_agent_id(document.get("agentId")):
        bad.append("agentId")
    if b64u_of_length(document.get("seed"), 32) is None:
        bad.append("seed")
    if not isinstance(document.get("relayUrl"), str):
        bad.append("relayUrl")
    if not is_safe_timestamp(document.get("createdAt")):
        bad.append("createdAt")
    pins = document.get("pins", {})
    if not isinstance(pins, dict) or not all(
        is_agent_id(peer) and _pin_of(pin) is not None for peer, pin in pins.items()
    ):
        bad.append("pins")
    previous = document.get("previousSeeds", [])
    if (
        not isinstance(previous, list)
        or len(previous) > PREVIOUS_SEEDS_MAX
        or not all(
            isinstance(entry, dict)
            and b64u_of_length(entry.get("seed"), 32) is not None
            and is_safe_timestamp(entry.get("retiredAt"))
            for entry in previous
        )
    ):
        bad.append("previousSeeds")
    if "pendingSeed" in document and b64u_of_length(document["pendingSeed"], 32) is None:
        bad.append("pendingSeed")
    if bad:
        raise _corrupt(path, f"bad field: {', '.join(bad)}")
    if document["agentId"] != agent_id:
        raise _corrupt(path, f'it names agent "{document["agentId"]}"')
    return document


def _pin_of(value: Any) -> Pin | None:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("key"), str)
        or value.get("source") not in PIN_SOURCES
        or not is_safe_timestamp(value.get("pinnedAt"))
    ):
        return None
    return Pin(value["key"], value["source"], int(value["pinnedAt"]))


def _serialize(document: dict[str, Any]) -> str:
    """Pretty-printed (two spaces) with a final newline; ``previousSeeds`` only when not empty."""
    out = {k: v for k, v in document.items() if not (k == "previousSeeds" and not v)}
    return dumps(out, indent=2) + "\n"


def _seed_keys(text: str, path: str) -> AgentKeys:
    seed = b64u_of_length(text, 32)
    if seed is None:
        raise _corrupt(path, "bad seed")
    return AgentKeys(seed)


def _to_identity(document: dict[str, Any], home: str, stamp: str | None) -> Identity:
    path = identity_file_path(home, document["agentId"])
    keys = _seed_keys(document["seed"], path)
    pending = document.get("pendingSeed")
    pending_keys = None if pending is None else _seed_keys(pending, path)
    previous = [_seed_keys(entry["seed"], path) for entry in document.get("previousSeeds", [])]
    previous.reverse()
    pins = {peer: pin for peer, raw in document.get("pins", {}).items() if (pin := _pin_of(raw))}
    return Identity(
        agent_id=document["agentId"],
        keys=keys,
        relay_url=document["relayUrl"],
        created_at=int(document["createdAt"]),
        pins=pins,
        other_keys=([pending_keys] if pending_keys else []) + previous,
        pending_keys=pending_keys,
        home=home,
        stamp=stamp,
    )


def _read_file(home: str, agent_id: str) -> tuple[dict[str, Any], str] | None:
    path = identity_file_path(home, agent_id)
    try:
        read = read_with_stamp(path)
        if read is None:
            return None
        text, stamp = read
        document = json.loads(text)
    except (OSError, ValueError, RecursionError):
        raise _corrupt(path, "unreadable or not JSON") from None
    return _checked_file(document, path, agent_id), stamp


def _require_file(home: str, agent_id: str) -> dict[str, Any]:
    read = _read_file(home, agent_id)
    if read is None:
        raise DeadDropError("IDENTITY_NOT_FOUND", f'identity "{agent_id}" disappeared from {home}')
    return read[0]


def create_identity(
    agent_id: str,
    relay_url: str,
    home: str | None = None,
    *,
    seed: bytes | None = None,
    now: int | None = None,
) -> Identity:
    check_agent_id(agent_id)
    home = resolve_home(home)
    document = {
        "v": 1,
        "agentId": agent_id,
        "seed": to_b64u(seed if seed is not None else generate_seed()),
        "relayUrl": normalize_relay_url(relay_url, "relayUrl"),
        "createdAt": now if now is not None else int(time.time() * 1000),
        "pins": {},
    }
    ensure_home(home)
    path = identity_file_path(home, agent_id)
    try:
        write_file_atomic(path, _serialize(document), exclusive=True)
    except FileExistsError:
        raise DeadDropError(
            "IDENTITY_EXISTS",
            f'an identity "{agent_id}" already exists in {home}; it is never overwritten (use another --home or agent id)',
        ) from None
    return _to_identity(document, home, file_stamp(path))


def load_identity(agent_id: str, home: str | None = None) -> Identity:
    check_agent_id(agent_id)
    home = resolve_home(home)
    read = _read_file(home, agent_id)
    if read is None:
        raise DeadDropError(
            "IDENTITY_NOT_FOUND",
            f'no identity "{agent_id}" in {home}; create it with: deaddrop init {agent_id} --server <url>',
        )
    return _to_identity(read[0], home, read[1])


def identity_file_changed(identity: Identity) -> bool:
    """Whether the file is no longer the one ``identity`` was read from (one stat)."""
    return identity.stamp is None or file_stamp(identity.path) != identity.stamp


def remove_identity(identity: Identity) -> None:
    """Deletes an identity and its state: meant for undoing an ``init`` whose registration failed."""
    for path in (identity.path, state_file_path(identity.home, identity.agent_id)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class LockedIdentityFile:
    """The identity file while its lock is held: each change re-reads the file first."""

    def __init__(self, home: str, agent_id: str) -> None:
        self._home = home
        self._agent_id = agent_id
        self._path = identity_file_path(home, agent_id)

    def read(self) -> Identity:
        read = _read_file(self._home, self._agent_id)
        if read is None:
            raise DeadDropError(
                "IDENTITY_NOT_FOUND", f'identity "{self._agent_id}" disappeared from {self._home}'
            )
        return _to_identity(read[0], self._home, read[1])

    def _write(self, document: dict[str, Any]) -> Identity:
        write_file_atomic(self._path, _serialize(document))
        return _to_identity(document, self._home, file_stamp(self._path))

    def change(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> Identity:
        return self._write(edit(_require_file(self._home, self._agent_id)))

    def save_pending_seed(self, seed: bytes) -> Identity:
        return self.change(lambda document: {**document, "pendingSeed": to_b64u(seed)})

    def drop_pending_seed(self) -> Identity:
        return self.change(
            lambda document: {k: v for k, v in document.items() if k != "pendingSeed"}
        )

    def complete_rotation(self, new_key: str, now: int, keep_for_ms: int) -> Identity:
        """The pending seed becomes the seed, the seed joins ``previousSeeds``; refused, the file
        untouched, unless the pending seed derives ``new_key``."""

        def edit(document: dict[str, Any]) -> dict[str, Any]:
            pending = document.get("pendingSeed")
            if pending is None or _seed_keys(pending, self._path).agent_key != new_key:
                raise DeadDropError(
                    "KEY_CHANGED",
                    f'refusing to finish the rotation of "{self._agent_id}": the relay confirmed the '
                    f"key {new_key}, but "
                    + (
                        f"{self._path} holds no pending seed"
                        if pending is None
                        else f"the pending seed in {self._path} derives another key"
                    )
                    + "; the file is left as it was, every seed kept",
                )
            kept = [
                entry
                for entry in document.get("previousSeeds", [])
                if entry["retiredAt"] + keep_for_ms > now
            ]
            rest = {k: v for k, v in document.items() if k != "pendingSeed"}
            rest["seed"] = pending
            rest["previousSeeds"] = (kept + [{"seed": document["seed"], "retiredAt": now}])[
                -PREVIOUS_SEEDS_MAX:
            ]
            return rest

        return self.change(edit)


@contextmanager
def identity_lock(identity: Identity) -> Iterator[LockedIdentityFile]:
    """Holds the identity file's lock (``agents/<agentId>.json.lock``). Not re-entrant."""
    with file_lock(
        identity.path,
        f'other DeadDrop process of "{identity.agent_id}"',
        IDENTITY_LOCK_WAIT_S,
    ):
        yield LockedIdentityFile(identity.home, identity.agent_id)


def save_pin(identity: Identity, peer_id: str, pin: Pin | None) -> dict[str, Pin]:
    """Sets (or with None removes) one pin, re-reading the file under its lock so pins written by
    another process meanwhile survive; returns the pins as written."""
    with identity_lock(identity) as locked:

        def edit(document: dict[str, Any]) -> dict[str, Any]:
            pins = dict(document.get("pins", {}))
            if pin is None:
                pins.pop(peer_id, None)
            else:
                previous = pins.get(peer_id)
                # Fields of a pin this client does not know are kept when the pin is replaced.
                extra = previous if isinstance(previous, dict) else {}
                pins[peer_id] = {**extra, **pin.to_json()}
            return {**document, "pins": pins}

        written = locked.change(edit)
    identity.stamp = written.stamp
    return written.pins


@dataclass(frozen=True)
class IdentitySummary:
    agent_id: str
    agent_key: str
    fingerprint: str
    relay_url: str
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "agentId": self.agent_id,
            "agentKey": self.agent_key,
            "fingerprint": self.fingerprint,
            "relayUrl": self.relay_url,
            "createdAt": self.created_at,
        }


def scan_identities(home: str | None = None) -> tuple[list[IdentitySummary], list[DeadDropError]]:
    """The readable identities in the home folder (sorted by agent id) and the damaged files."""
    home = resolve_home(home)
    try:
        names = sorted(os.listdir(agents_dir(home)))
    except FileNotFoundError:
        return [], []
    found: list[IdentitySummary] = []
    damaged: list[DeadDropError] = []
    for name in names:
        if not name.endswith(".json"):
            continue
        agent_id = name[: -len(".json")]
        # State and prekey files are not identities (their names are refused as agent ids).
        if not is_agent_id(agent_id) or agent_id.endswith(RESERVED_SUFFIXES):
            continue
        try:
            read = _read_file(home, agent_id)
            if read is None:
                continue
            identity = _to_identity(read[0], home, read[1])
        except DeadDropError as error:
            damaged.append(error)
            continue
        except ValueError:
            damaged.append(
                _corrupt(identity_file_path(home, agent_id), "its keys cannot be derived")
            )
            continue
        found.append(
            IdentitySummary(
                agent_id,
                identity.agent_key,
                identity.fingerprint,
                identity.relay_url,
                identity.created_at,
            )
        )
    return found, damaged
