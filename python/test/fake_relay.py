"""A relay in miniature for unit tests: the plain HTTP API's shapes over an in-memory directory and
mailboxes, with every answer overridable, so a test can make the relay lie (answers out of order,
forged prekeys, huge or deep bodies) and check that the client refuses to be moved by it. Proofs
are not verified: the real relay's checks are the TypeScript relay's tests' business."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, Any]], Any]


class Reply:
    """A raw answer: status and body bytes as given."""

    def __init__(
        self, status: int, body: bytes | str, content_type: str = "application/json"
    ) -> None:
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type


def refusal(status: int, reason: str, message: str = "refused") -> Reply:
    return Reply(status, json.dumps({"error": {"code": "X", "reason": reason, "message": message}}))


class FakeRelay:
    def __init__(self) -> None:
        self.relay_id = "relay-fake"
        self.directory: dict[str, dict[str, Any]] = {}
        self.prekeys: dict[str, list[dict[str, str]]] = {}
        self.mailboxes: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.overrides: dict[str, Handler] = {}
        self.inbox_override: Callable[[str, str], Any] | None = None
        self._lock = threading.Lock()
        self._clock = 0
        relay = self

        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, path: str, payload: dict[str, Any]) -> None:
                relay.calls.append((path, payload, dict(self.headers)))
                handler = relay.overrides.get(path) or getattr(
                    relay, "do_" + path.replace(".", "_"), None
                )
                result = refusal(404, "UNKNOWN_PROCEDURE") if handler is None else handler(payload)
                reply = result if isinstance(result, Reply) else Reply(200, json.dumps(result))
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                payload = {name: values[-1] for name, values in parse_qs(url.query).items()}
                if url.path == "/v1/inbox":
                    relay.calls.append(("inbox", payload, dict(self.headers)))
                    after = self.headers.get("last-event-id") or payload.get("after", "0-0")
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    for chunk in relay.inbox(relay.agent_of(dict(self.headers)), after):
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    return
                for name in ("limit", "waitMs"):
                    if name in payload:
                        payload[name] = int(payload[name])
                self._answer(url.path.removeprefix("/v1/"), payload)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                self._answer(urlsplit(self.path).path.removeprefix("/v1/"), payload)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                # A client that hung up on a lie it refused: nothing to report.
                pass

        self.server = Server(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]

    def agent_of(self, headers: dict[str, str]) -> str:
        import base64

        proof = headers.get("authorization") or headers.get("Authorization") or ""
        text = proof.split(" ", 1)[1]
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))["agentId"]

    def _caller(self) -> str:
        return self.agent_of(self.calls[-1][2])

    def next_id(self) -> str:
        with self._lock:
            self._clock += 1
            return f"{int(time.time() * 1000)}-{self._clock}"

    def store(self, to: str, ciphertext: str) -> dict[str, Any]:
        message_id = self.next_id()
        received = int(message_id.split("-")[0])
        stored = {
            "id": message_id,
            "ciphertext": ciphertext,
            "receivedAt": received,
            "expiresAt": received + 86_400_000,
        }
        self.mailboxes.setdefault(to, []).append(stored)
        return stored

    def inbox(self, agent: str, after: str) -> Any:
        """The live inbox's frames (overridable): the backlog after ``after``, then the stream
        ends (the client reconnects from its cursor)."""
        from deaddrop.state import compare_message_ids

        if self.inbox_override is not None:
            yield from self.inbox_override(agent, after)
            return
        yield b"retry: 500\n: connected\n\n"
        for message in self.mailboxes.get(agent, []):
            if compare_message_ids(message["id"], after) > 0:
                yield f"id: {message['id']}\ndata: {json.dumps(message)}\n\n".encode()
        yield b": ping\n\n"

    # ---- the procedures ----

    def do_info(self, _: dict[str, Any]) -> Any:
        limits = {
            "maxMessageBytes": 1_048_576,
            "ttlSeconds": 86_400,
            "maxMessages": 10_000,
            "authWindowSeconds": 60,
            "maxWaitMs": 1_000,
            "maxBatchBytes": 4_194_304,
        }
        rates = dict.fromkeys(
            (
                "requestsPerSecond",
                "requestBurst",
                "subscriptionsPerMinute",
                "mailboxMessagesPerMinute",
                "senderMessagesPerMinute",
                "registrationsPerMinute",
            ),
            0,
        )
        return {
            "relayId": self.relay_id,
            "version": "fake",
            "limits": limits,
            "rateLimits": rates,
            "protocol": ["v1", "v1.1"],
        }

    def do_directory_register(self, payload: dict[str, Any]) -> Any:
        record = self.directory.setdefault(
            payload["agentId"],
            {
                "agentId": payload["agentId"],
                "agentKey": payload["agentKey"],
                "registeredAt": 1,
                "rotations": [],
            },
        )
        if record["agentKey"] != payload["agentKey"]:
            return refusal(409, "AGENT_ID_TAKEN")
        return {key: record[key] for key in ("agentId", "agentKey", "registeredAt")}

    def do_directory_lookup(self, payload: dict[str, Any]) -> Any:
        record = self.directory.get(payload["agentId"])
        return refusal(404, "AGENT_NOT_FOUND") if record is None else record

    def do_directory_publishPrekeys(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        held = self.prekeys.setdefault(self._caller(), [])
        held.extend(payload["prekeys"])
        return {"stored": len(payload["prekeys"]), "total": len(held)}

    def do_directory_claimPrekey(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        held = self.prekeys.get(payload["agentId"], [])
        prekey = held.pop(0) if held else None
        return {"prekey": prekey, "remaining": len(held)}

    def do_send(self, payload: dict[str, Any]) -> Any:
        if payload["to"] not in self.directory:
            return refusal(404, "AGENT_NOT_FOUND")
        stored = self.store(payload["to"], payload["ciphertext"])
        return {
            "id": stored["id"],
            "receivedAt": stored["receivedAt"],
            "expiresAt": stored["expiresAt"],
            "duplicate": False,
        }

    def do_poll(self, payload: dict[str, Any]) -> Any:
        from deaddrop.state import compare_message_ids

        after = payload.get("after", "0-0")
        limit = payload.get("limit", 50)
        messages = [
            m
            for m in self.mailboxes.get(self._caller(), [])
            if compare_message_ids(m["id"], after) > 0
        ][:limit]
        return {"messages": messages, "cursor": messages[-1]["id"] if messages else after}

    def do_stats(self, _: dict[str, Any]) -> Any:
        agent = self._caller()
        mail = self.mailboxes.get(agent, [])
        return {
            "agentId": agent,
            "count": len(mail),
            "bytes": 0,
            "oldestId": mail[0]["id"] if mail else None,
            "newestId": mail[-1]["id"] if mail else None,
            "limits": self.do_info({})["limits"],
            "prekeys": len(self.prekeys.get(agent, [])),
        }

    def do_delete(self, payload: dict[str, Any]) -> Any:
        mail = self.mailboxes.get(self._caller(), [])
        before = len(mail)
        mail[:] = [m for m in mail if m["id"] not in payload["ids"]]
        return {"deleted": before - len(mail)}

    def do_sendMany(self, payload: dict[str, Any]) -> Any:  # noqa: N802
        results = []
        for item in payload["items"]:
            if item["to"] not in self.directory:
                results.append(
                    {
                        "to": item["to"],
                        "ok": False,
                        "code": "NOT_FOUND",
                        "reason": "AGENT_NOT_FOUND",
                        "message": f"no agent {item['to']}",
                    }
                )
                continue
            stored = self.store(item["to"], item["ciphertext"])
            results.append(
                {
                    "to": item["to"],
                    "ok": True,
                    "id": stored["id"],
                    "receivedAt": stored["receivedAt"],
                    "expiresAt": stored["expiresAt"],
                    "duplicate": False,
                }
            )
        return {"results": results}
