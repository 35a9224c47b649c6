"""The mailbox API: register, look up, send sealed messages to pinned keys, and poll (or follow
live) opened and verified mail, with the cursor and replay cache in the agent's state file — the
same files, the same rules and the same relay procedures as the TypeScript SDK (PROTOCOL §1–§10).
A facade: whose key is whose is contacts.py, opening and judging reader.py, the live stream
live.py, receipts receipts.py, the prekey stock prekey_supply.py."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, overload

from . import answers
from .b64u import b64u_decoded_length, to_b64u
from .config import (
    DEFAULT_MAX_MESSAGE_AGE_MS,
    DEFAULT_REQUEST_TIMEOUT_MS,
    read_client_env,
    resolve_relay_url,
)
from .contacts import Contacts, Recipient, SenderPin, assert_agent_id, require_agent_key
from .crypto import random_bytes
from .envelope import (
    DEFAULT_FILE_CONTENT_TYPE,
    Sealed,
    build_inner_bytes,
    largest_body,
    seal_message,
    seal_message_v2,
)
from .errors import DeadDropError
from .files import exposed_file_warnings
from .group_send import (
    GroupSendResult,
    GroupSent,
    batch_bytes_limit,
    group_for_send,
    group_recipients,
    is_recipient_error,
    refused_item_error,
    send_many_chunks,
)
from .identity import AgentKeys, fingerprint_of, generate_seed
from .inner import content_type_problem, filename_problem, is_uid
from .jsonvalue import MAX_BODY_DEPTH, dumps, is_json_value
from .keystore import (
    Identity,
    Pin,
    create_identity,
    identity_file_changed,
    identity_lock,
    load_identity,
    remove_identity,
)
from .live import is_fatal, live_session, restart_delay_s
from .messages import Message, Receipt, SentMessage
from .prekey_supply import PrekeySupply
from .prekeys import PrekeySecrets
from .reader import ReadContext, read_stored_message
from .receipts import ReceiptSender
from .relay import Relay, Signer
from .state import (
    MailboxState,
    ReplayCache,
    compare_message_ids,
    freshness_window_ms,
    load_state,
    save_state,
)
from .statements import sign_registration, sign_rotation, verify_prekey

_RETIRED_SEED_GRACE_MS = 10 * 60_000
POLL_LIMIT_MAX = 100
POLL_LIMIT_DEFAULT = 50
DELETE_IDS_MAX = 100
_RECEIPTS_KEPT = 1_000


@dataclass(frozen=True)
class _SendRetry:
    """How a send rides out a blip of the relay (PROTOCOL §3.3): the same request again, with its
    idempotency key, after a failure that refused nothing on purpose."""

    attempts: int = 5
    base_delay_ms: int = 500
    max_delay_ms: int = 8_000
    attempt_timeout_ms: int = 10_000
    total_timeout_ms: int = 30_000


@dataclass(frozen=True)
class _SealedItem:
    """One recipient's copy, sealed to its key and ready for ``send`` or ``sendMany``."""

    request: dict[str, Any]
    recipient: Recipient
    sealed: Sealed
    # Sealed to a one-time prekey (v2) rather than the identity key.
    forward_secret: bool

    @property
    def to(self) -> str:
        return str(self.request["to"])

    @property
    def bytes(self) -> int:
        """Decoded ciphertext size, what the relay's batch limit counts."""
        return self.sealed.bytes

    def sent(self, answer: dict[str, Any]) -> SentMessage:
        """What became of it, from the relay's ``send`` answer (or a stored ``sendMany`` item)."""
        return SentMessage(
            id=answer["id"],
            uid=self.sealed.uid,
            to=self.to,
            recipient_key=self.recipient.pin.key,
            recipient_fingerprint=self.recipient.key.fingerprint,
            pin_source=self.recipient.pin.source,
            pin_change=self.recipient.change,
            forward_secret=self.forward_secret,
            bytes=self.sealed.bytes,
            sent_at=self.sealed.sent_at,
            received_at=int(answer["receivedAt"]),
            expires_at=int(answer["expiresAt"]),
            duplicate=answer["duplicate"],
        )


def _reply_target(
    target: Message | dict[str, Any],
) -> tuple[str, str, str | None, dict[str, Any] | None]:
    """``(sender, uid, threadId, group)`` of a message answered: a received Message, or the summary
    ``find_received`` remembers of one."""
    if isinstance(target, Message):
        if target.sender is None or target.uid is None:
            raise DeadDropError("INVALID_MESSAGE", "an unreadable message cannot be answered")
        return target.sender, target.uid, target.thread_id, target.group
    return target["from"], target["uid"], target.get("threadId"), target.get("group")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _default_warning(text: str) -> None:
    print(f"DeadDropWarning: {text}", file=sys.stderr, flush=True)


class Agent:
    """One agent's mailbox on one relay.

    ``Agent.create`` makes a new identity and registers it; ``Agent.load`` opens an existing one.
    Options: ``api_key`` (else DEADDROP_API_KEY), ``request_timeout_ms``
    (DEADDROP_REQUEST_TIMEOUT), ``max_message_age_ms`` (DEADDROP_MAX_MESSAGE_AGE), ``receipts``
    (send the receipts verified messages ask for; DEADDROP_RECEIPTS, default on), ``strict``
    (trust no directory key on first contact), ``on_receipt`` (called with each Receipt read),
    ``on_warning`` (called with each warning; default: a ``DeadDropWarning:`` line on stderr),
    ``on_retry`` (called with a line before each retry of a send)."""

    def __init__(
        self,
        identity: Identity,
        relay_url: str | None = None,
        *,
        api_key: str | None = None,
        request_timeout_ms: int | None = None,
        max_message_age_ms: int | None = None,
        receipts: bool | None = None,
        strict: bool = False,
        on_receipt: Callable[[Receipt], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_retry: Callable[[str], None] | None = None,
        now: Callable[[], int] | None = None,
    ) -> None:
        env = read_client_env()
        self._identity = identity
        self.relay_url = resolve_relay_url(relay_url, env.server_url, identity.relay_url)
        self._now = now or _now_ms
        self._max_message_age_ms = (
            max_message_age_ms or env.max_message_age_ms or DEFAULT_MAX_MESSAGE_AGE_MS
        )
        self._sends_receipts = receipts if receipts is not None else env.receipts is not False
        self.on_receipt = on_receipt
        self._warn = on_warning or _default_warning
        self._on_retry = on_retry
        self._retry = _SendRetry()
        self._info: dict[str, Any] | None = None
        self._info_lock = threading.Lock()
        self._relay = Relay(
            self.relay_url,
            api_key=api_key if api_key is not None else env.api_key,
            timeout_ms=request_timeout_ms or env.request_timeout_ms or DEFAULT_REQUEST_TIMEOUT_MS,
            signer=Signer(
                agent_id=lambda: self._identity.agent_id,
                keys=lambda: self._identity.keys,
                relay_id=lambda: self.info()["relayId"],
            ),
        )
        self._contacts = Contacts(
            self._relay,
            identity=lambda: self._identity,
            relay_id=lambda: self.info()["relayId"],
            now=self._now,
            warn=self._warn,
            strict=strict,
            checked=self._checked,
        )
        # One turn at a time over the state file and the replay cache every reader judges by.
        self._state_lock = threading.RLock()
        self._seen = ReplayCache()
        self._prekeys = PrekeySecrets(identity.home, identity.agent_id, self._now)
        self._supply = PrekeySupply(
            identity.agent_id,
            keys=lambda: self._identity.keys,
            secrets=self._prekeys,
            stats=lambda: self._checked("stats", answers.check_stats, self._call("stats")),
            publish=lambda prekeys: self._checked(
                "directory.publishPrekeys",
                answers.check_publish_prekeys,
                self._call("directory.publishPrekeys", {"prekeys": prekeys}),
            ),
            now=self._now,
            warn=self._warn,
        )
        self._recovery_lock = threading.Lock()
        self._recovering = threading.local()
        self._receipts_owed = ReceiptSender(self._send_receipt, self._warn)
        self.receipts: deque[Receipt] = deque(maxlen=_RECEIPTS_KEPT)
        """Receipts read (the last 1,000), oldest first; ``on_receipt`` hears each as it comes."""

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        agent_id: str,
        relay_url: str | None = None,
        home: str | None = None,
        **options: Any,
    ) -> Agent:
        """Creates the identity ``agent_id`` (never overwriting one) and registers it on the relay
        (``relay_url``, else DEADDROP_SERVER_URL, else http://localhost:8000), publishing its
        one-time prekeys. If registering fails, the new identity is removed again."""
        env = read_client_env()
        url = resolve_relay_url(relay_url, env.server_url)
        identity = create_identity(agent_id, url, home if home is not None else env.home)
        agent = cls(identity, url, **options)
        try:
            agent.register()
        except BaseException:
            remove_identity(identity)
            raise
        return agent

    @classmethod
    def load(cls, agent_id: str, home: str | None = None, **options: Any) -> Agent:
        """Opens the identity ``agent_id`` from ``home`` (else DEADDROP_HOME, else ~/.deaddrop);
        ``relay_url=`` overrides the relay the identity file names."""
        env = read_client_env()
        identity = load_identity(agent_id, home if home is not None else env.home)
        relay_url = options.pop("relay_url", None)
        return cls(identity, relay_url, **options)

    @property
    def identity(self) -> Identity:
        return self._identity

    @property
    def agent_id(self) -> str:
        return self._identity.agent_id

    @property
    def agent_key(self) -> str:
        return self._identity.agent_key

    @property
    def fingerprint(self) -> str:
        return self._identity.fingerprint

    @property
    def home(self) -> str:
        return self._identity.home

    @property
    def strict(self) -> bool:
        return self._contacts.strict

    def exposed_file_warnings(self) -> list[str]:
        return exposed_file_warnings(self.home, [self.agent_id])

    def close(self) -> None:
        """Drops receipts owed but not yet sent (``flush_receipts()`` first to send them)."""
        self._receipts_owed.abandon()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush_receipts()
        self.close()

    # ---- relay calls and recovery --------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The relay's id, version and limits; fetched once, then cached."""
        with self._info_lock:
            if self._info is None:
                answer = self._relay.request("info", max_bytes=256 * 1024)
                self._info = self._checked("info", answers.check_info, answer)
            return self._info

    def _checked(self, path: str, check: Callable[[Any], Any], answer: Any) -> Any:
        """``answer`` as the protocol allows it, else RELAY_INVALID_RESPONSE (PREKEY_INVALID for a
        claim handing out a prekey the protocol cannot hold)."""
        try:
            return check(answer)
        except answers.AnswerProblem as problem:
            if problem.prekey_invalid:
                raise DeadDropError(
                    "PREKEY_INVALID",
                    f"the relay at {self.relay_url} handed out a malformed one-time prekey; nothing was sent",
                ) from None
            where = problem.where
            text = (
                f"its {path} answer {where}"
                if " " in where
                else f"its {path} answer does not match the protocol"
                + ("" if where == "(root)" else f" (at {where})")
            )
            raise self._relay.invalid(text) from None

    def _call(self, path: str, payload: dict[str, Any] | None = None, **options: Any) -> Any:
        """A mailbox call with recovery: AGENT_NOT_REGISTERED registers the identity again,
        AUTH_BAD_SIGNATURE catches up with the identity file; either is retried once."""
        if getattr(self._recovering, "active", False):
            return self._relay.request(path, payload, **options)
        signed_with = self.agent_key
        try:
            return self._relay.request(path, payload, **options)
        except DeadDropError as error:
            if error.reason == "AGENT_NOT_REGISTERED":
                self._reregister(error)
            elif error.reason == "AUTH_BAD_SIGNATURE":
                self._catch_up()
                if self.agent_key == signed_with:
                    raise
            else:
                raise
        return self._relay.request(path, payload, **options)

    def register(self) -> dict[str, Any]:
        """Claims this identity's agent id on the relay (idempotent for the same key) and publishes
        its one-time prekeys; the directory record, with ``fingerprint`` and ``prekeys``."""
        relay_id = self.info()["relayId"]

        def register_once() -> dict[str, Any]:
            answer = self._relay.request(
                "directory.register",
                sign_registration(relay_id, self.agent_id, self._identity.keys),
            )
            return self._checked("directory.register", answers.check_agent_record, answer)

        try:
            try:
                record = register_once()
            except DeadDropError as error:
                if error.reason != "AGENT_ID_TAKEN":
                    raise
                # Taken by a key this identity's file moved to (another process rotated).
                signed_with = self.agent_key
                self._catch_up()
                if self.agent_key == signed_with:
                    raise
                record = register_once()
        except DeadDropError as error:
            if error.reason == "AGENT_ID_TAKEN":
                raise DeadDropError(
                    "AGENT_ID_TAKEN",
                    f'agent id "{self.agent_id}" is already registered on {self.relay_url} with another key; pick another id',
                    http_status=error.http_status,
                ) from None
            raise
        if record["agentId"] != self.agent_id or record["agentKey"] != self.agent_key:
            raise self._relay.invalid("its registration answer names another agent or key")
        result = {**record, "fingerprint": self.fingerprint}
        # Forward secrecy for mail to this agent: prekeys on the relay from the start.
        try:
            held = self._supply.top_up()
            if held is not None:
                result["prekeys"] = held
        except DeadDropError as error:
            self._warn(f"registered, but could not publish one-time prekeys: {error}")
        return result

    def _reregister(self, refusal: DeadDropError) -> None:
        """The relay's store no longer knows this agent (PROTOCOL §10): register it again."""
        with self._recovery_lock:
            # Calls the recovery makes (registering tops up prekeys) never start another one.
            self._recovering.active = True
            try:
                self._refresh_identity()
                self.register()
            except DeadDropError as error:
                if error.reason == "AGENT_ID_TAKEN":
                    raise DeadDropError(
                        "AGENT_ID_TAKEN",
                        f'the relay at {self.relay_url} lost the registration of "{self.agent_id}", and another key has registered that id since; this identity cannot use it there any more',
                    ) from refusal
                raise
            finally:
                self._recovering.active = False
        self._warn(
            f'the relay at {self.relay_url} no longer knew agent "{self.agent_id}" (its store may have lost it): registered the identity again and retried'
        )

    def _catch_up(self) -> None:
        """Takes the identity as its file holds it now, finishing a rotation the relay made but the
        file did not record (PROTOCOL §10)."""
        keep_for_ms = self.info()["limits"]["ttlSeconds"] * 1000 + _RETIRED_SEED_GRACE_MS
        with self._recovery_lock, identity_lock(self._identity) as locked:
            identity = locked.read()
            if identity.pending_keys is not None:
                record = self._contacts.lookup(self.agent_id)
                if record["agentKey"] == identity.pending_keys.agent_key:
                    identity = locked.complete_rotation(
                        record["agentKey"], self._now(), keep_for_ms
                    )
                    self._warn(
                        f'finished the key rotation of "{self.agent_id}" that an earlier run began: the relay held the new key (fingerprint {identity.fingerprint}), the identity file did not yet'
                    )
            self._identity = identity

    def _refresh_identity(self) -> None:
        """Before signing anything the relay does not check (a message, a registration): the
        identity as its file holds it, if another process of this agent changed it (a rotation) —
        one stat when nothing changed."""
        if not identity_file_changed(self._identity):
            return
        try:
            with identity_lock(self._identity) as locked:
                self._identity = locked.read()
        except DeadDropError as error:
            if error.reason != "IDENTITY_NOT_FOUND":
                raise

    def rotate_key(self) -> dict[str, str]:
        """Replaces this identity's key (PROTOCOL §10): the new seed is written as ``pendingSeed``
        before ``directory.rotate``, made the seed after; the old seed is kept for the relay's
        TTL + 10 min so mail sealed to it still opens. Then new prekeys are published."""
        info = self.info()
        keep_for_ms = info["limits"]["ttlSeconds"] * 1000 + _RETIRED_SEED_GRACE_MS
        with identity_lock(self._identity) as locked:
            before = locked.read()
            if before.pending_keys is not None:
                # A rotation an earlier run began: finished if the relay took it, else dropped.
                record = self._contacts.lookup(self.agent_id)
                if record["agentKey"] == before.pending_keys.agent_key:
                    self._identity = locked.complete_rotation(
                        record["agentKey"], self._now(), keep_for_ms
                    )
                    return _rotated(before, self._identity)
                if record["agentKey"] != before.agent_key:
                    raise DeadDropError(
                        "KEY_CHANGED",
                        f"the relay's key for \"{self.agent_id}\" is neither this identity's key nor its pending one; it was rotated elsewhere",
                    )
                before = locked.drop_pending_seed()
            seed = generate_seed()
            new_keys = AgentKeys(seed)
            locked.save_pending_seed(seed)
            step = sign_rotation(info["relayId"], self.agent_id, before.keys, new_keys, self._now())
            answer = self._relay.request(
                "directory.rotate",
                {
                    "agentId": self.agent_id,
                    **{k: step[k] for k in ("newKey", "ts", "sigOld", "sigNew")},
                },
            )
            record = self._checked("directory.rotate", answers.check_directory_record, answer)
            if record["agentId"] != self.agent_id or record["agentKey"] != new_keys.agent_key:
                raise self._relay.invalid("its rotation answer names another agent or key")
            self._identity = locked.complete_rotation(record["agentKey"], self._now(), keep_for_ms)
        # The relay dropped the prekeys the old key signed: publish new ones.
        try:
            self._supply.top_up()
        except DeadDropError as error:
            self._warn(f"rotated, but could not publish one-time prekeys: {error}")
        return _rotated(before, self._identity)

    def stats(self) -> dict[str, Any]:
        answer = self._checked("stats", answers.check_stats, self._call("stats"))
        if answer["agentId"] != self.agent_id:
            raise self._relay.invalid(
                f'its stats answer is for "{answer["agentId"]}", not "{self.agent_id}"'
            )
        return answer

    def delete(self, ids: list[str]) -> int:
        """Deletes messages by relay id (in batches the relay accepts); how many existed."""
        deleted = 0
        ids = list(ids)
        for start in range(0, len(ids), DELETE_IDS_MAX):
            answer = self._call("delete", {"ids": ids[start : start + DELETE_IDS_MAX]})
            deleted += int(self._checked("delete", answers.check_delete, answer)["deleted"])
        return deleted

    def limits(self, to: str | None = None) -> dict[str, int]:
        """What fits in one message on this relay, in plaintext terms (for ``to`` exactly, else
        for any recipient)."""
        if to is not None:
            assert_agent_id(to)
        max_bytes = self.info()["limits"]["maxMessageBytes"]
        found = largest_body(max_bytes, sender=self.agent_id, to=to)
        return {
            "maxMessageBytes": max_bytes,
            "fileBytes": found.file_bytes,
            "textBytes": found.text_bytes,
        }

    # ---- whose key is whose --------------------------------------------------------------------

    @property
    def pins(self) -> dict[str, Pin]:
        return dict(self._identity.pins)

    def lookup(self, agent_id: str) -> dict[str, Any]:
        """The directory's key for ``agent_id``, compared with this agent's pin. Does not pin."""
        record = self._with_retry(lambda _timeout: self._contacts.lookup(agent_id))
        pin = self._identity.pins.get(agent_id)
        status = (
            "unpinned" if pin is None else "matches" if pin.key == record["agentKey"] else "differs"
        )
        return {
            **record,
            "fingerprint": fingerprint_of(record["agentKey"]),
            "pin": None if pin is None else pin.to_json(),
            "pinStatus": status,
        }

    def pin(self, agent_id: str, agent_key: str, *, accept_key: bool = False) -> Pin:
        """Pins a key given out of band (source ``explicit``); refused (KEY_MISMATCH) when the
        directory holds another key for it, unless ``accept_key``."""
        assert_agent_id(agent_id)
        require_agent_key(agent_key, f'the key given for "{agent_id}"')
        given = Pin(agent_key, "explicit", self._now())
        pin = (
            given
            if accept_key
            else self._contacts.check_explicit_key(agent_id, given, self._with_retry)
        )
        self._contacts.save(agent_id, pin)
        return pin

    # ---- sending -------------------------------------------------------------------------------

    @overload
    def send(
        self,
        to: str,
        body: Any = None,
        *,
        receipt: bool = False,
        reply_to: Message | str | None = None,
        thread_id: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        key: str | None = None,
        accept_key: bool = False,
        accept_new_key: bool = False,
        group: dict[str, Any] | None = None,
    ) -> SentMessage: ...

    @overload
    def send(
        self,
        to: list[str] | tuple[str, ...],
        body: Any = None,
        *,
        receipt: bool = False,
        reply_to: Message | str | None = None,
        thread_id: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        key: str | None = None,
        accept_key: bool = False,
        accept_new_key: bool = False,
        group: dict[str, Any] | None = None,
    ) -> GroupSent: ...

    def send(
        self,
        to: str | list[str] | tuple[str, ...],
        body: Any = None,
        *,
        receipt: bool = False,
        reply_to: Message | str | None = None,
        thread_id: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        key: str | None = None,
        accept_key: bool = False,
        accept_new_key: bool = False,
        group: dict[str, Any] | None = None,
    ) -> SentMessage | GroupSent:
        """Seals ``body`` to the recipient's pinned key (first contact pins the directory's) and
        sends it. ``body`` is any JSON value (a ``str`` is text), or ``bytes`` for a file with
        ``content_type`` (default application/octet-stream) and ``filename``. ``reply_to`` is a
        received Message (or its ``uid``): the answer carries ``replyTo`` and ``threadId``.
        ``receipt`` asks for a delivery receipt. ``key`` pins the recipient's key explicitly
        (checked against the directory unless ``accept_key``).

        With a list of recipients ``to`` it is a group send (PROTOCOL §8) and returns a
        ``GroupSent``: see ``send_group``."""
        if not isinstance(to, str):
            if key is not None or accept_key:
                raise DeadDropError(
                    "INVALID_MESSAGE",
                    "key and accept_key pin one recipient; a group send pins each on first contact",
                )
            recipients = group_recipients(to, self.agent_id)
            payload, options = self._content(
                body, receipt, reply_to, thread_id, content_type, filename
            )
            return self._send_group(recipients, payload, options, group, accept_new_key)
        if group is not None:
            raise DeadDropError(
                "INVALID_MESSAGE", "group goes with a group send (a list of recipients)"
            )
        assert_agent_id(to)
        payload, options = self._content(body, receipt, reply_to, thread_id, content_type, filename)
        sent = self._send(to, payload, "message", options, key, accept_key, accept_new_key)
        if receipt:
            self._remember_asked_receipts([sent])
        return sent

    def send_group(
        self, to: list[str] | tuple[str, ...], body: Any = None, **options: Any
    ) -> GroupSent:
        """A group send (PROTOCOL §8): ``body`` sealed separately to each recipient's pinned key
        (first contact pins each, with a prekey claimed for each), every copy naming the whole
        group (``group=``, else a new one: a random id, the sender first, then ``to``), stored by
        the relay's ``sendMany`` in chunks it accepts (single sends to a relay without protocol
        v1.1). What concerns one recipient — an unregistered id, a changed key, a full mailbox — is
        that recipient's result; a failure of the relay itself raises. Options as ``send``'s."""
        return self.send(list(to), body, **options)

    def reply(
        self, message: Message | dict[str, Any], body: Any = None, **options: Any
    ) -> SentMessage:
        """Answers ``message`` (a received Message, or what ``find_received`` remembers of one) to
        its sender, in its thread."""
        sender, uid, thread, _group = _reply_target(message)
        return self.send(sender, body, reply_to=uid, thread_id=thread or uid, **options)

    def reply_all(
        self, message: Message | dict[str, Any], body: Any = None, **options: Any
    ) -> GroupSent:
        """Answers ``message`` to all its group's members but this agent, in the same group
        (PROTOCOL §6 ``group``); a message that named no group is answered to its sender, in a
        new group of the two of you."""
        sender, uid, thread, group = _reply_target(message)
        in_group = group if group is not None and self.agent_id in group["members"] else None
        members = in_group["members"] if in_group is not None else [sender]
        return self.send(
            [member for member in members if member != self.agent_id],
            body,
            reply_to=uid,
            thread_id=thread or uid,
            group=in_group,
            **options,
        )

    def _content(
        self,
        body: Any,
        receipt: bool,
        reply_to: Message | str | None,
        thread_id: str | None,
        content_type: str | None,
        filename: str | None,
    ) -> tuple[Any, dict[str, Any]]:
        """The body as the inner document holds it, and the other content fields, checked."""
        options = self._thread_fields(reply_to, thread_id)
        if receipt:
            options["receipt"] = True
        if isinstance(body, (bytes, bytearray, memoryview)):
            content = content_type if content_type is not None else DEFAULT_FILE_CONTENT_TYPE
            problem = content_type_problem(content)
            if problem is not None:
                raise DeadDropError("INVALID_MESSAGE", f"contentType: {problem}")
            options["contentType"] = content
            if filename is not None:
                problem = filename_problem(filename)
                if problem is not None:
                    raise DeadDropError("INVALID_MESSAGE", f"filename: {problem}")
                options["filename"] = filename
            return to_b64u(bytes(body)), options
        if content_type is not None or filename is not None:
            raise DeadDropError(
                "INVALID_MESSAGE", "content_type and filename go with a bytes body (a file)"
            )
        if body is None:
            raise DeadDropError(
                "INVALID_MESSAGE", "give a body: JSON or text, or bytes with a content_type"
            )
        if not is_json_value(body, MAX_BODY_DEPTH):
            raise DeadDropError(
                "INVALID_MESSAGE",
                f"a message must be plain JSON (strings, finite numbers, booleans, null, arrays, plain objects; no cycles) nesting at most {MAX_BODY_DEPTH} levels deep",
            )
        return body, options

    def _thread_fields(
        self, reply_to: Message | str | None, thread_id: str | None
    ) -> dict[str, Any]:
        """``replyTo`` and ``threadId`` (PROTOCOL §6): the thread's first message's uid."""
        fields: dict[str, Any] = {}
        if isinstance(reply_to, Message):
            if reply_to.uid is None:
                raise DeadDropError("INVALID_MESSAGE", "an unreadable message cannot be answered")
            fields["replyTo"] = reply_to.uid
            fields["threadId"] = reply_to.thread_id or reply_to.uid
        elif reply_to is not None:
            if not is_uid(reply_to):
                raise DeadDropError(
                    "INVALID_MESSAGE",
                    "replyTo: message uid must be 16 bytes of canonical base64url",
                )
            fields["replyTo"] = reply_to
            if thread_id is None:
                remembered = self.find_received(reply_to)
                thread = (
                    remembered.get("threadId")
                    if remembered and remembered.get("uid") == reply_to
                    else None
                )
                fields["threadId"] = thread or reply_to
        if thread_id is not None:
            if not is_uid(thread_id):
                raise DeadDropError(
                    "INVALID_MESSAGE",
                    "threadId: message uid must be 16 bytes of canonical base64url",
                )
            fields["threadId"] = thread_id
        return fields

    def _retrying(self) -> Callable[[Callable[[int], Any]], Any]:
        """One send's retry policy and deadline, shared by every relay call it makes."""
        deadline = time.monotonic() + self._retry.total_timeout_ms / 1000

        def retrying(attempt: Callable[[int], Any]) -> Any:
            return self._with_retry(attempt, deadline)

        return retrying

    def _send(
        self,
        to: str,
        body: Any,
        kind: str,
        options: dict[str, Any],
        key: str | None = None,
        accept_key: bool = False,
        accept_new_key: bool = False,
    ) -> SentMessage:
        retrying = self._retrying()
        info = retrying(lambda _timeout: self.info())
        self._refresh_identity()
        item = self._seal_for(
            to, body, kind, options, info, retrying, key, accept_key, accept_new_key
        )
        answer = retrying(
            lambda timeout: self._checked(
                "send",
                answers.check_send,
                self._relay.request("send", item.request, timeout_ms=timeout),
            )
        )
        return item.sent(answer)

    def _seal_for(
        self,
        to: str,
        body: Any,
        kind: str,
        options: dict[str, Any],
        info: dict[str, Any],
        retrying: Callable[[Callable[[int], Any]], Any],
        key: str | None = None,
        accept_key: bool = False,
        accept_new_key: bool = False,
    ) -> _SealedItem:
        """The recipient's key (pinned now on first contact), and the message sealed to it."""
        limit = info["limits"]["maxMessageBytes"]
        self._assert_fits(to, body, options, limit)
        recipient = self._contacts.resolve_recipient(to, key, accept_key, accept_new_key, retrying)
        # A note to oneself and a receipt spend none of the recipient's prekeys; a key accepted
        # against the directory's cannot vouch for the prekeys the directory's key signed.
        needs_prekey = to != self.agent_id and kind != "receipt" and not accept_key
        prekey = self._claim_prekey(to) if needs_prekey else None
        if prekey is not None and not verify_prekey(to, prekey, recipient.key):
            # Signed by another key: the recipient may have rotated away from a key kept without a
            # lookup (an explicit key given again). Verified rotations move the pin; else refused.
            moved = self._contacts.follow_recipient_rotation(to, recipient.pin)
            if moved is not None:
                recipient = Recipient(
                    require_agent_key(moved.key, f'the rotated key for "{to}"'), moved, "replaced"
                )
            if not verify_prekey(to, prekey, recipient.key):
                raise DeadDropError(
                    "PREKEY_INVALID",
                    f'the relay handed out a one-time prekey for "{to}" that is not signed by the key pinned for {to}; nothing was sent',
                )
        keys = self._identity.keys
        inner = build_inner_bytes(
            sender=self.agent_id, sender_keys=keys, to=to, body=body, kind=kind, options=options
        )
        sealed = (
            seal_message(inner, keys, recipient.key)
            if prekey is None
            else seal_message_v2(inner, keys, prekey["id"], prekey["key"])
        )
        forward_secret = prekey is not None
        # v2 is 8 bytes longer: a body that fits v1 exactly may not fit v2 (the prekey is spent).
        if forward_secret and sealed.bytes > limit:
            sealed = seal_message(inner, keys, recipient.key)
            forward_secret = False
        if sealed.bytes > limit:
            raise DeadDropError(
                "MESSAGE_TOO_LARGE",
                f"message too large: sealed it is {sealed.bytes} bytes, the relay at {self.relay_url} accepts at most {limit}; send less",
            )
        if recipient.change != "none":
            self._contacts.save(to, recipient.pin)
        request = {
            "to": to,
            "ciphertext": sealed.ciphertext,
            "idempotencyKey": to_b64u(random_bytes(16)),
        }
        return _SealedItem(request, recipient, sealed, forward_secret)

    def _send_group(
        self,
        recipients: list[str],
        body: Any,
        options: dict[str, Any],
        group: dict[str, Any] | None,
        accept_new_key: bool,
    ) -> GroupSent:
        if group is None:
            group = {"id": to_b64u(random_bytes(16)), "members": [self.agent_id, *recipients]}
        options = {**options, "group": group_for_send(group, self.agent_id, recipients)}
        retrying = self._retrying()
        info = retrying(lambda _timeout: self.info())
        self._refresh_identity()
        sealed_or_failed: dict[str, _SealedItem | DeadDropError] = {}
        for recipient in recipients:
            try:
                sealed_or_failed[recipient] = self._seal_for(
                    recipient,
                    body,
                    "message",
                    options,
                    info,
                    retrying,
                    accept_new_key=accept_new_key,
                )
            except DeadDropError as error:
                if not is_recipient_error(error):
                    raise
                sealed_or_failed[recipient] = error
        sealed = [item for item in sealed_or_failed.values() if isinstance(item, _SealedItem)]
        outcomes = self._dispatch(sealed, info, retrying)
        results: list[GroupSendResult] = []
        for recipient in recipients:
            failed = sealed_or_failed[recipient]
            outcome = failed if isinstance(failed, DeadDropError) else outcomes.get(recipient)
            if outcome is None:
                outcome = self._relay.invalid(f'it left out "{recipient}"')
            if isinstance(outcome, DeadDropError):
                results.append(GroupSendResult(recipient, False, error=outcome))
            else:
                results.append(GroupSendResult(recipient, True, sent=outcome))
        if options.get("receipt") is True:
            self._remember_asked_receipts(
                [result.sent for result in results if result.sent is not None]
            )
        return GroupSent(group["id"], list(group["members"]), results)

    def _dispatch(
        self,
        items: list[_SealedItem],
        info: dict[str, Any],
        retrying: Callable[[Callable[[int], Any]], Any],
    ) -> dict[str, SentMessage | DeadDropError]:
        """Sends sealed copies: ``sendMany`` in chunks the relay accepts, else one ``send`` each."""
        outcomes: dict[str, SentMessage | DeadDropError] = {}
        speaks_v11 = "v1.1" in (info.get("protocol") or [])
        for chunk in send_many_chunks(items, batch_bytes_limit(info["limits"])):
            if not speaks_v11:
                for item in chunk:
                    try:
                        answer = retrying(
                            lambda timeout, item=item: self._checked(
                                "send",
                                answers.check_send,
                                self._relay.request("send", item.request, timeout_ms=timeout),
                            )
                        )
                        outcomes[item.to] = item.sent(answer)
                    except DeadDropError as error:
                        outcomes[item.to] = error
                continue
            recipients = [item.to for item in chunk]
            payload = {"items": [item.request for item in chunk]}
            try:
                # Retried whole with the same idempotency keys: an item stored by a lost attempt
                # comes back as a duplicate, never twice.
                answer = retrying(
                    lambda timeout, payload=payload, recipients=recipients: self._checked(
                        "sendMany",
                        lambda value: answers.check_send_many(value, recipients),
                        self._relay.request("sendMany", payload, timeout_ms=timeout),
                    )
                )
            except DeadDropError as error:
                # Earlier chunks may be stored: this one's recipients get the error, not the call.
                for item in chunk:
                    outcomes[item.to] = error
                continue
            for item, result in zip(chunk, answer["results"]):
                outcomes[item.to] = (
                    item.sent(result)
                    if result["ok"]
                    else refused_item_error(result, self.relay_url)
                )
        return outcomes

    def _assert_fits(self, to: str, body: Any, options: dict[str, Any], limit: int) -> None:
        """Refuses, before sealing, a body the relay's limit cannot hold, saying what fits."""
        found = largest_body(limit, sender=self.agent_id, to=to, options=options)
        sealed_limit = (
            f"the relay at {self.relay_url} accepts sealed messages of at most {limit} bytes"
        )
        if options.get("contentType") is not None and isinstance(body, str):
            file_bytes = b64u_decoded_length(body)
            if file_bytes <= found.file_bytes:
                return
            raise DeadDropError(
                "MESSAGE_TOO_LARGE",
                f'file too large: at most {found.file_bytes} bytes of file data fit in one message to "{to}" (this one is {file_bytes}); {sealed_limit}',
            )
        json_bytes = len(dumps(body).encode("utf-8"))
        if json_bytes <= found.json_bytes:
            return
        raise DeadDropError(
            "MESSAGE_TOO_LARGE",
            (
                f'message too large: at most {found.text_bytes} bytes of text (UTF-8) fit in one message to "{to}" (this one takes {json_bytes - 2}); {sealed_limit}'
                if isinstance(body, str)
                else f'message too large: at most {found.json_bytes} bytes of JSON (UTF-8) fit in one message to "{to}" (this one takes {json_bytes}); {sealed_limit}'
            ),
        )

    def _claim_prekey(self, to: str) -> dict[str, str] | None:
        """One of ``to``'s prekeys, or None (none left, or the claim not served): then v1. A
        malformed prekey is forged, never a fallback (PREKEY_INVALID)."""
        try:
            answer = self._relay.request(
                "directory.claimPrekey", {"agentId": to}, timeout_ms=self._retry.attempt_timeout_ms
            )
            claimed = self._checked("directory.claimPrekey", answers.check_claim_prekey, answer)
        except DeadDropError as error:
            if error.reason == "PREKEY_INVALID":
                raise DeadDropError(
                    "PREKEY_INVALID",
                    f'the relay handed out a malformed one-time prekey for "{to}"; nothing was sent ({error})',
                ) from None
            return None
        return claimed["prekey"]

    def _with_retry(self, attempt: Callable[[int], Any], deadline: float | None = None) -> Any:
        """``attempt(timeout_ms)`` until it succeeds, fails in a way retrying cannot fix, runs out
        of attempts, or would outlive the deadline."""
        policy = self._retry
        deadline = (
            deadline if deadline is not None else time.monotonic() + policy.total_timeout_ms / 1000
        )
        for number in range(1, policy.attempts + 1):
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            try:
                return attempt(max(1, min(policy.attempt_timeout_ms, remaining_ms)))
            except DeadDropError as error:
                retryable = (
                    error.reason in ("RELAY_UNREACHABLE", "STORE_UNAVAILABLE")
                    or error.http_status == 503
                )
                if not retryable or number == policy.attempts:
                    raise
                ceiling = min(policy.base_delay_ms * 2 ** (number - 1), policy.max_delay_ms)
                # "Equal jitter": at least half the ceiling, so retries never come in a burst.
                wait_ms = max(
                    round(ceiling / 2 + random.random() * ceiling / 2), error.retry_after_ms or 0
                )
                if time.monotonic() + wait_ms / 1000 >= deadline:
                    raise
                if self._on_retry is not None:
                    self._on_retry(
                        f"{error}; retrying in {wait_ms / 1000:.1f} s (attempt {number + 1} of {policy.attempts})"
                    )
                time.sleep(wait_ms / 1000)
        raise AssertionError("unreachable")

    def _remember_asked_receipts(self, sent: list[SentMessage]) -> None:
        """Records sends that asked for a receipt (``deliveries()``). They are sent already: a
        state file that cannot be written costs the record, never the send."""
        if not sent:
            return
        try:
            with self._state_lock:
                info = self.info()
                now = self._now()
                state = self._load_state()
                for one in sent:
                    state.sent_asking_receipt(one.uid, one.to, one.id, one.sent_at)
                self._save_state(state, now, info)
        except (DeadDropError, OSError):
            pass

    # ---- receipts ------------------------------------------------------------------------------

    def _send_receipt(self, to: str, of: list[str]) -> None:
        """One receipt (PROTOCOL §7), to the pinned key of the verified sender it acknowledges."""
        self._send(to, {"of": of, "status": "delivered"}, "receipt", {})

    def flush_receipts(self) -> None:
        """Sends every receipt owed now. One that cannot be sent is a warning, never raised."""
        self._receipts_owed.flush()

    def _take_receipt(self, entry: Message) -> bool:
        """Publishes ``entry`` as a Receipt if it is one (receipts are events, not messages)."""
        if entry.unreadable or entry.kind != "receipt" or not isinstance(entry.body, dict):
            return False
        receipt = Receipt(
            id=entry.id,
            uid=entry.uid or "",
            sender=entry.sender or "",
            of=list(entry.body.get("of", [])),
            status="delivered",
            sent_at=entry.sent_at or 0,
            received_at=entry.received_at,
            verified=entry.verified,
            problem=entry.problem,
        )
        self.receipts.append(receipt)
        if self.on_receipt is not None:
            try:
                self.on_receipt(receipt)
            except Exception as error:  # noqa: BLE001 - a callback's failure ends nothing
                self._warn(f"on_receipt raised: {error!r}")
        return True

    def deliveries(self) -> list[dict[str, Any]]:
        """Messages this agent sent asking for a receipt (the last 256), newest first, each with
        ``deliveredAt`` once a verified receipt from its recipient was read."""
        with self._state_lock:
            return list(reversed(list(self._load_state().deliveries.values())))

    def find_received(self, id_or_uid: str) -> dict[str, Any] | None:
        """A message received lately (the last 256), by relay id or uid."""
        with self._state_lock:
            return self._load_state().find_received(id_or_uid)

    # ---- reading -------------------------------------------------------------------------------

    def _window_ms(self, info: dict[str, Any]) -> int:
        return freshness_window_ms(info["limits"]["ttlSeconds"], self._max_message_age_ms)

    def _load_state(self) -> MailboxState:
        state = load_state(self.home, self.agent_id)
        self._seen.absorb(state.seen)
        return state

    def _save_state(self, state: MailboxState, now: int, info: dict[str, Any]) -> None:
        save_state(self.home, self.agent_id, state, now, self._window_ms(info))
        self._seen.absorb(state.seen)
        self._seen.prune(now, self._window_ms(info))

    def _reader(self, info: dict[str, Any], now: int) -> Callable[[dict[str, Any]], Message]:
        """Stored message -> Message, judged at ``now`` against the replay cache. Before its first
        ``decrypt-failed`` a batch looks whether the identity file changed (another process may
        have rotated the key) and if so reads it and tries that message again."""
        failed: dict[str, SenderPin] = {}
        lookups: dict[str, dict[str, Any] | None] = {}
        looked_at_file = False

        def context() -> ReadContext:
            return ReadContext(
                agent_id=self.agent_id,
                keys=self._identity.keys,
                other_keys=self._identity.other_keys,
                seen=self._seen,
                window_ms=self._window_ms(info),
                now=now,
                sender_pin=lambda sender: self._contacts.sender_pin(sender, failed),
                prekeys=self._prekeys,
                follow_rotation=lambda sender, key: self._contacts.follow_sender_rotation(
                    sender, key, lookups
                ),
            )

        def read(stored: dict[str, Any]) -> Message:
            nonlocal looked_at_file
            entry = read_stored_message(stored, context())
            if entry.unreadable and entry.problem == "decrypt-failed" and not looked_at_file:
                looked_at_file = True
                if identity_file_changed(self._identity):
                    with identity_lock(self._identity) as locked:
                        self._identity = locked.read()
                    entry = read_stored_message(stored, context())
            if not entry.unreadable and entry.forward_secret:
                self._supply.opened()
            return entry

        return read

    def _record_delivered(
        self, state: MailboxState, relay_id: str, delivered: list[Message], now: int
    ) -> None:
        """Entries handed over, in order: their ids seen, the cursor past the last, received
        messages and receipts remembered (PROTOCOL §1 ``recent``, ``deliveries``)."""
        for entry in delivered:
            if entry.unreadable or entry.uid is None or entry.sent_at is None:
                continue
            state.seen.remember(entry.uid, entry.sent_at, now)
            if entry.kind == "receipt":
                of = entry.body.get("of", []) if isinstance(entry.body, dict) else []
                state.receipt(entry.sender or "", of, entry.sent_at, entry.verified)
                continue
            summary: dict[str, Any] = {
                "id": entry.id,
                "uid": entry.uid,
                "from": entry.sender,
                "sentAt": entry.sent_at,
                "receivedAt": entry.received_at,
                "verified": entry.verified,
            }
            if entry.thread_id is not None:
                summary["threadId"] = entry.thread_id
            if entry.group is not None:
                summary["group"] = entry.group
            state.received(summary)
        if delivered:
            state.advance_cursor(relay_id, delivered[-1].id)

    def _poll(self, after: str, limit: int, wait_ms: int | None) -> dict[str, Any]:
        payload: dict[str, Any] = {"after": after, "limit": limit}
        if wait_ms:
            payload["waitMs"] = wait_ms
        max_bytes = self.info()["limits"]["maxMessageBytes"]
        bound = limit * (-(-max_bytes * 4 // 3) + 1024) + 1024 * 1024
        timeout = self._relay.timeout_ms + (wait_ms or 0)
        answer = self._call("poll", payload, timeout_ms=timeout, max_bytes=bound)
        try:
            return answers.check_poll(answer, after, limit)
        except answers.AnswerProblem as problem:
            text = (
                problem.where
                if " " in problem.where
                else f"does not match the protocol (at {problem.where})"
            )
            raise self._relay.invalid(f"its poll answer {text}") from None

    def receive(self, wait: float = 0, limit: int = POLL_LIMIT_DEFAULT) -> list[Message]:
        """Messages after the saved cursor, opened and verified (waiting up to ``wait`` seconds for
        a first one). One entry per stored message — receipts excepted: they go to
        ``on_receipt`` and ``receipts``. The cursor and replay cache are saved before returning, and
        the receipts verified messages ask for are sent (unless receipts are off)."""
        limit = min(max(int(limit), 1), POLL_LIMIT_MAX)
        with self._state_lock:
            info = self.info()
            state = self._load_state()
            relay_id = info["relayId"]
            start = state.cursor(relay_id)
            deadline = time.monotonic() + max(wait, 0)
            result = self._poll(start, limit, None)
            while not result["messages"]:
                wait_ms = min(
                    int((deadline - time.monotonic()) * 1000), info["limits"]["maxWaitMs"]
                )
                if wait_ms <= 0:
                    break
                result = self._poll(result["cursor"], limit, wait_ms)
            now = self._now()
            read = self._reader(info, now)
            entries: list[Message] = []
            try:
                for stored in result["messages"]:
                    entries.append(read(stored))
                if entries or result["cursor"] != start:
                    self._record_delivered(state, relay_id, entries, now)
                    state.cursors[relay_id] = result["cursor"]
                    self._save_state(state, now, info)
                    # Forward secrecy: recorded as seen, the prekey secrets go before hand-over.
                    self._supply.forget_used(entries)
            except BaseException:
                # Nothing is handed over: what was judged here must come again, not as a replay.
                for entry in entries:
                    if entry.uid is not None and not entry.unreadable:
                        self._seen.forget(entry.uid)
                raise
        messages = [entry for entry in entries if not self._take_receipt(entry)]
        if self._sends_receipts:
            self._receipts_owed.owe(messages)
            self._receipts_owed.flush()
        return messages

    def listen(
        self,
        *,
        stop: threading.Event | None = None,
        on_connection: Callable[[str, DeadDropError | None], None] | None = None,
    ) -> Iterator[Message]:
        """Messages as they arrive (SSE, ``GET /v1/inbox``), after the saved cursor: the backlog
        first, then each new one, judged like ``receive``'s. Reconnects resume exactly after the
        last message, with a fresh proof. A message counts as delivered once yielded (leaving the
        loop there included): the cursor and replay cache are saved for it, never ahead of it.
        Runs until ``stop`` is set or the loop ends; raises only for a failure that retrying cannot
        fix. ``on_connection("connected" | "reconnecting", error)`` hears of the connection."""
        info = self.info()
        with self._state_lock:
            cursor = self._load_state().cursor(info["relayId"])
        stop = stop or threading.Event()
        delivered: list[Message] = []
        # The entry at the yield right now, and whether it was committed before (forward secret):
        # the loop ending there (a break, an exception in its body) hands it over.
        at_yield: tuple[Message, bool] | None = None
        failures = 0
        recovered = False
        try:
            while not stop.is_set():
                healthy = False
                try:
                    for kind, stored in live_session(
                        self._relay, cursor, info["limits"]["maxMessageBytes"], stop
                    ):
                        if kind == "connected":
                            healthy, failures = True, 0
                            if on_connection is not None:
                                on_connection("connected", None)
                            continue
                        if kind == "idle" or stored is None:
                            self._commit(info, delivered)
                            delivered = []
                            continue
                        # A relay replaying what this stream already passed on causes no duplicate.
                        if compare_message_ids(stored["id"], cursor) <= 0:
                            continue
                        cursor = stored["id"]
                        more = kind == "message+"
                        entry = self._reader(info, self._now())(stored)
                        if self._take_receipt(entry):
                            delivered.append(entry)
                        else:
                            # Forward secrecy (PROTOCOL §10): the secret that opened a v2 message
                            # is deleted before it is handed over, so it is recorded as seen (with
                            # those before it) first.
                            committed = entry.prekey_id is not None
                            if committed:
                                try:
                                    self._commit(info, delivered + [entry])
                                except BaseException:
                                    # Not recorded, not handed over: it must come again.
                                    if entry.uid is not None:
                                        self._seen.forget(entry.uid)
                                    raise
                                delivered = []
                            at_yield = (entry, committed)
                            yield entry
                            at_yield = None
                            if not committed:
                                delivered.append(entry)
                            self._handed_over(entry)
                        # What arrived together is recorded together: a batch, then the file.
                        if not more:
                            self._commit(info, delivered)
                            delivered = []
                    if stop.is_set():
                        return
                    error = DeadDropError(
                        "RELAY_UNREACHABLE",
                        f"lost the live connection to the relay at {self.relay_url} (the relay closed the stream)",
                    )
                except DeadDropError as refusal:
                    error = refusal
                    self._commit(info, delivered)
                    delivered = []
                    if error.reason == "AGENT_NOT_REGISTERED" and not recovered:
                        recovered = True
                        self._reregister(error)
                    elif error.reason == "AUTH_BAD_SIGNATURE" and not recovered:
                        recovered = True
                        signed_with = self.agent_key
                        self._catch_up()
                        if self.agent_key == signed_with:
                            raise
                    elif is_fatal(error):
                        raise
                if healthy:
                    recovered = False
                if on_connection is not None:
                    on_connection("reconnecting", error)
                stop.wait(restart_delay_s(failures))
                failures += 1
        finally:
            if at_yield is not None:
                if not at_yield[1]:
                    delivered.append(at_yield[0])
                self._handed_over(at_yield[0])
            if delivered:
                self._commit(info, delivered)

    def _handed_over(self, entry: Message) -> None:
        """An entry the application has taken: the receipt it may ask for is owed (within 1 s)."""
        if self._sends_receipts:
            self._receipts_owed.owe([entry])
            self._receipts_owed.send_soon()

    def _commit(self, info: dict[str, Any], delivered: list[Message]) -> None:
        """Records delivered entries (cursor forward, ids as seen) in the state file as it is now
        (another reader may have moved on), then deletes the prekey secrets they used."""
        if not delivered:
            return
        with self._state_lock:
            now = self._now()
            state = self._load_state()
            self._record_delivered(state, info["relayId"], delivered, now)
            self._save_state(state, now, info)
            self._supply.forget_used(delivered)


def _rotated(before: Identity, after: Identity) -> dict[str, str]:
    return {
        "agentId": after.agent_id,
        "oldKey": before.agent_key,
        "newKey": after.agent_key,
        "oldFingerprint": before.fingerprint,
        "newFingerprint": after.fingerprint,
    }
