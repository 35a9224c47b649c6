"""Calls to one relay over its plain HTTP API (PROTOCOL "Plain HTTP API"): queries as
``GET /v1/<path>?<input fields>``, mutations as ``POST /v1/<path>`` with the input as a JSON body,
answers as the bare output JSON, errors as ``{"error": {"code", "reason", "message",
"retryAfterMs"?}}``, and the live inbox as ``GET /v1/inbox`` (Server-Sent Events). Mailbox calls
carry ``authorization: DeadDrop <proof>`` with the procedure path as scope.

Every answer is read within a size bound and parsed within a depth bound before anything looks at
it: a relay is not trusted."""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from . import answers
from .errors import DeadDropError
from .identity import AgentKeys
from .jsonvalue import JsonError, dumps, parse
from .statements import create_proof, encode_authorization

QUERIES = frozenset({"info", "directory.lookup", "poll", "stats", "hooks.get"})
# The procedures that need a mailbox proof, in the contract table's order.
MAILBOX_PROCEDURES = (
    "directory.publishPrekeys",
    "poll",
    "stats",
    "delete",
    "inbox",
    "hooks.set",
    "hooks.get",
    "hooks.clear",
)
_ANSWER_DEPTH = 64
_DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024
_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Signer:
    """Who signs mailbox proofs: read per request, so a rotation's new key is used at once."""

    agent_id: Callable[[], str]
    keys: Callable[[], AgentKeys]
    relay_id: Callable[[], str]


class Relay:
    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout_ms: int = 30_000,
        signer: Signer | None = None,
    ) -> None:
        self.url = url
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._base_path = parts.path.rstrip("/")
        self._api_key = api_key
        self.timeout_ms = timeout_ms
        self.signer = signer

    # ---- plumbing ------------------------------------------------------------------------------

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout_s, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)

    def _headers(self, path: str, *, mailbox: bool) -> dict[str, str]:
        headers = {"accept": "application/json", "user-agent": "deaddrop-python/0.1.0"}
        if self._api_key is not None:
            headers["x-deaddrop-api-key"] = self._api_key
        if mailbox:
            if self.signer is None:
                raise DeadDropError("AUTH_MISSING", f"{path} needs an identity to sign its proof")
            proof = create_proof(
                self.signer.relay_id(), self.signer.agent_id(), self.signer.keys(), path
            )
            headers["authorization"] = encode_authorization(proof)
        return headers

    def unreachable(self, error: BaseException) -> DeadDropError:
        detail = _network_detail(error)
        return DeadDropError(
            "RELAY_UNREACHABLE",
            f"cannot reach the relay at {self.url} ({detail}); check --server or DEADDROP_SERVER_URL",
        )

    def invalid(self, problem: str) -> DeadDropError:
        return DeadDropError(
            "RELAY_INVALID_RESPONSE", f"the relay at {self.url} misbehaved: {problem}"
        )

    def _refusal(self, status: int, body: bytes) -> DeadDropError:
        try:
            parsed = parse(body.decode("utf-8"), _ANSWER_DEPTH)
        except (UnicodeDecodeError, JsonError):
            parsed = None
        error = answers.check_error(parsed)
        if error is None:
            return DeadDropError(
                "RELAY_INVALID_RESPONSE",
                f"the server at {self.url} did not answer as a DeadDrop relay (HTTP {status})",
                http_status=status,
            )
        reason, message, retry_after = error
        return DeadDropError(reason, message, http_status=status, retry_after_ms=retry_after)

    def request(
        self,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout_ms: int | None = None,
        max_bytes: int = _DEFAULT_MAX_ANSWER_BYTES,
    ) -> Any:
        """One call: the parsed answer, or a DeadDropError (the relay's reason when it gave one)."""
        query = path in QUERIES
        headers = self._headers(path, mailbox=path in MAILBOX_PROCEDURES)
        target = f"{self._base_path}/v1/{path}"
        body: bytes | None = None
        if query:
            if payload:
                target += "?" + urlencode({k: _query_value(v) for k, v in payload.items()})
        else:
            body = dumps(payload or {}).encode("utf-8")
            headers["content-type"] = "application/json"
        timeout_s = (timeout_ms if timeout_ms is not None else self.timeout_ms) / 1000
        connection = self._connection(timeout_s)
        try:
            connection.request("GET" if query else "POST", target, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
            limit = max_bytes if status < 400 else _ERROR_BODY_BYTES
            data = _read_within(connection, response, limit + 1, time.monotonic() + timeout_s)
        except (OSError, http.client.HTTPException) as error:
            raise self.unreachable(error) from None
        finally:
            connection.close()
        if len(data) > limit:
            if status >= 400:
                raise DeadDropError(
                    "RELAY_INVALID_RESPONSE",
                    f"the server at {self.url} did not answer as a DeadDrop relay (HTTP {status})",
                    http_status=status,
                )
            raise self.invalid(f"it sent an answer larger than {limit} bytes")
        if status >= 400:
            raise self._refusal(status, data)
        if status != 200:
            raise self.invalid(f"it answered {path} with HTTP {status}")
        try:
            return parse(data.decode("utf-8"), _ANSWER_DEPTH)
        except (UnicodeDecodeError, JsonError):
            raise DeadDropError(
                "RELAY_INVALID_RESPONSE",
                f"the server at {self.url} did not answer as a DeadDrop relay (its {path} answer is not JSON)",
            ) from None

    def open_stream(
        self, path: str, params: dict[str, Any], headers: dict[str, str], timeout_s: float
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Opens ``GET /v1/<path>`` for an event stream; a refusal is raised as the relay's error."""
        all_headers = {
            **self._headers(path, mailbox=True),
            **headers,
            "accept": "text/event-stream",
        }
        target = f"{self._base_path}/v1/{path}"
        if params:
            target += "?" + urlencode({k: _query_value(v) for k, v in params.items()})
        connection = self._connection(timeout_s)
        try:
            connection.request("GET", target, headers=all_headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise self.unreachable(error) from None
        if response.status != 200:
            try:
                data = response.read(_ERROR_BODY_BYTES + 1)
            except (OSError, http.client.HTTPException):
                data = b""
            finally:
                connection.close()
            if response.status >= 400:
                raise self._refusal(response.status, data)
            raise self.invalid(f"it answered the live inbox with HTTP {response.status}")
        content_type = response.getheader("content-type", "")
        if not content_type.startswith("text/event-stream"):
            connection.close()
            raise self.invalid("its live inbox is not an event stream")
        return connection, response


def _read_within(
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    limit: int,
    deadline: float,
) -> bytes:
    """The answer's body, at most ``limit`` bytes, read before ``deadline``: a relay that sends
    its answer a byte at a time cannot hold a call past its timeout."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        if connection.sock is not None:
            connection.sock.settimeout(remaining)
        chunk = response.read1(min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _network_detail(error: BaseException) -> str:
    if isinstance(error, socket.timeout) or isinstance(error, TimeoutError):
        return "timed out"
    code = getattr(error, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return errno.errorcode[code]
    if isinstance(error, socket.gaierror):
        return "ENOTFOUND"
    text = str(error)
    return text or type(error).__name__


# ---- Server-Sent Events -----------------------------------------------------------------------


@dataclass(frozen=True)
class StreamEvent:
    event: str
    data: str
    id: str | None
    # Whether more of the stream had arrived already: the reader may wait with its bookkeeping.
    more: bool = False


INACTIVITY_RANGE_MS = (5_000, 120_000)


def read_events(response: http.client.HTTPResponse, max_event_chars: int) -> Iterator[StreamEvent]:
    """Events of an SSE stream, each bounded in size (a relay could send one endless line). Ends
    when the stream ends; raises DeadDropError for an event past the bound."""
    event_type = ""
    data: list[str] = []
    # The id this event named (SSE keeps the last one across events; a message names its own).
    event_id: str | None = None
    size = 0
    pending = b""
    while True:
        try:
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        except (OSError, http.client.HTTPException):
            raise
        if not chunk:
            return
        pending += chunk
        while True:
            cut = _line_end(pending)
            if cut is None:
                if len(pending) > max_event_chars:
                    raise DeadDropError(
                        "RELAY_INVALID_RESPONSE",
                        f"the relay sent a live inbox event longer than {max_event_chars} characters",
                    )
                break
            end, rest = cut
            raw, pending = pending[:end], pending[rest:]
            line = raw.decode("utf-8", "replace")
            if line.startswith("\ufeff") and size == 0 and not data:
                line = line[1:]
            size += len(line) + 1
            if size > max_event_chars:
                raise DeadDropError(
                    "RELAY_INVALID_RESPONSE",
                    f"the relay sent a live inbox event longer than {max_event_chars} characters",
                )
            if line == "":
                if data or event_type:
                    more = _line_end(pending) is not None
                    yield StreamEvent(event_type or "message", "\n".join(data), event_id, more)
                event_type, data, event_id, size = "", [], None, 0
                continue
            if line.startswith(":"):
                # A comment (the plain API's keep-alive): activity, nothing to hand over.
                if not data and not event_type:
                    yield StreamEvent(
                        "comment", line[1:].strip(), None, _line_end(pending) is not None
                    )
                continue
            name, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "event":
                event_type = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                if "\0" not in value:
                    event_id = value


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line of ``buffer`` ends: ``\\r\\n``, ``\\r`` and ``\\n`` all end lines."""
    newline = buffer.find(b"\n")
    carriage = buffer.find(b"\r")
    if carriage == -1 and newline == -1:
        return None
    if carriage != -1 and (newline == -1 or carriage < newline):
        if carriage + 1 == len(buffer):
            return None  # A "\r\n" may be split across reads: wait for the next byte.
        return carriage, (
            carriage + 2 if buffer[carriage + 1 : carriage + 2] == b"\n" else carriage + 1
        )
    return newline, newline + 1


def clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))
