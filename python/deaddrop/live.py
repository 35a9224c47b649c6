"""One connection of the live inbox, ``GET /v1/inbox`` (Server-Sent Events): each message an event
whose ``id:`` is the message id and whose ``data:`` is the stored message as JSON, keep-alives as
comments, an error that ends the stream as an ``error`` event with the plain error body. Every
event is bounded in size and every message checked before it is handed on; a stream silent past
the inactivity bound is dead (the relay pings every 15 s)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

from . import answers
from .errors import DeadDropError
from .jsonvalue import JsonError, parse
from .relay import INACTIVITY_RANGE_MS, Relay, StreamEvent, clamp, read_events

# The relay pings every 15 s: a stream silent this long is dead, and is opened again.
DEFAULT_INACTIVITY_MS = 45_000
_STOP_POLL_S = 0.25


def live_session(
    relay: Relay, cursor: str, max_message_bytes: int, stop: threading.Event
) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """``("connected", None)``, then per message ``("message", stored)`` — ``"message+"`` when
    more of the stream had arrived already, so bookkeeping can wait for the batch — and
    ``("idle", None)`` for a keep-alive. Ends when the stream ends; raises DeadDropError for a
    refusal or a broken stream."""
    max_event = -(-max_message_bytes * 4 // 3) + 64 * 1024
    connection, response = relay.open_stream(
        "inbox", {"after": cursor}, {"last-event-id": cursor}, DEFAULT_INACTIVITY_MS / 1000
    )
    done = threading.Event()

    def end_on_stop() -> None:
        # A read blocks until the next event or ping (15 s): `stop` closes the socket under it.
        while not done.is_set():
            if stop.wait(_STOP_POLL_S):
                sock = connection.sock
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return

    threading.Thread(target=end_on_stop, name="deaddrop-live-stop", daemon=True).start()
    try:
        yield "connected", None
        try:
            for event in read_events(response, max_event):
                if stop.is_set():
                    return
                kind = _kind(event)
                if kind == "connected":
                    # tRPC-style advice (`event: connected`); the plain API sends a comment.
                    if connection.sock is not None:
                        connection.sock.settimeout(_advised_inactivity_ms(event.data) / 1000)
                elif kind == "ping":
                    if not event.more:
                        yield "idle", None
                elif kind == "error":
                    raise stream_error(relay, event.data)
                elif kind == "message":
                    yield ("message+" if event.more else "message"), _stored_of(relay, event)
        except (OSError, ValueError, http.client.HTTPException) as error:
            if stop.is_set():
                return
            raise DeadDropError(
                "RELAY_UNREACHABLE",
                f"lost the live connection to the relay at {relay.url} ({_detail(error)})",
            ) from None
    finally:
        done.set()
        connection.close()


def _kind(event: StreamEvent) -> str:
    if event.event in ("ping", "comment"):
        return "ping"
    if event.event in ("error", "serialized-error"):
        return "error"
    if event.event in ("connected", "message"):
        return event.event
    return "other"


def _stored_of(relay: Relay, event: StreamEvent) -> dict[str, Any]:
    try:
        value = parse(event.data, 8)
    except JsonError:
        raise relay.invalid("its live inbox sent a message that is not JSON") from None
    try:
        stored = answers.check_stored_message(value, "(message)")
    except answers.AnswerProblem as problem:
        raise relay.invalid(
            f"its live inbox sent a message that does not match the protocol (at {problem.where})"
        ) from None
    if event.id is not None and event.id != stored["id"]:
        raise relay.invalid("its live inbox sent a message under another message's event id")
    return stored


def stream_error(relay: Relay, data: str) -> DeadDropError:
    """The relay's error that ended the stream (the plain body, or tRPC's serialized shape)."""
    try:
        value = parse(data, 8)
    except JsonError:
        value = None
    error = answers.check_error(value)
    if error is None and isinstance(value, dict) and isinstance(value.get("json"), dict):
        shape = value["json"]
        data_field = shape.get("data") if isinstance(shape.get("data"), dict) else {}
        error = answers.check_error(
            {"error": {"reason": data_field.get("reason"), "message": shape.get("message")}}
        )
    if error is None:
        return DeadDropError("RELAY_ERROR", f"the relay at {relay.url} ended the live inbox")
    reason, message, retry_after = error
    return DeadDropError(reason, message, retry_after_ms=retry_after)


def _advised_inactivity_ms(data: str) -> int:
    try:
        advised = parse(data, 4)
    except JsonError:
        advised = None
    value = advised.get("reconnectAfterInactivityMs") if isinstance(advised, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return INACTIVITY_RANGE_MS[1]
    return clamp(int(value), INACTIVITY_RANGE_MS)


def is_fatal(error: DeadDropError) -> bool:
    """A refusal no retry can fix: input or authorization the relay refuses, or nonsense it sent."""
    if error.http_status in (400, 401, 403, 404) or error.reason == "API_KEY_INVALID":
        return True
    return error.reason == "RELAY_INVALID_RESPONSE" and error.http_status is None


def restart_delay_s(failures: int) -> float:
    return 0.1 if failures == 0 else min(0.5 * 2 ** (failures - 1), 10.0)


def _detail(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no event within the inactivity bound"
    return str(error) or type(error).__name__
