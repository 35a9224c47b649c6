"""The Agent against a relay in miniature (fake_relay.py) that tells the truth — or lies: pins on
first use, refused key changes and followed rotations, prekeys verified against the pin, v1 when
none is left, re-registration, hostile mail reported once while the next message is delivered,
and relay answers that break the protocol refused without moving anything."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
import unittest

from deaddrop import Agent, DeadDropError
from deaddrop.b64u import from_b64u, to_b64u
from deaddrop.envelope import seal_inner_bytes
from deaddrop.identity import AgentKeys
from deaddrop.jsonvalue import dumps
from deaddrop.relay import Relay
from deaddrop.statements import generate_prekey, sign_rotation

from fake_relay import FakeRelay, Reply, refusal


class AgentTest(unittest.TestCase):
    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.relay = FakeRelay()
        self.warnings: list[str] = []
        self.env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("DEADDROP_")}

    def tearDown(self) -> None:
        self.relay.close()
        self._dir.cleanup()
        os.environ.update(self.env)

    def agent(self, name: str, **options: object) -> Agent:
        return Agent.create(
            name,
            self.relay.url,
            os.path.join(self._dir.name, name),
            on_warning=self.warnings.append,
            **options,
        )

    def load(self, name: str, **options: object) -> Agent:
        return Agent.load(
            name, os.path.join(self._dir.name, name), on_warning=self.warnings.append, **options
        )


class Messaging(AgentTest):
    def test_text_json_and_files_both_ways_with_prekeys(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob")
        self.assertEqual(len(self.relay.prekeys["bob"]), 50)
        sent = alice.send("bob", "hello bob", receipt=True)
        self.assertTrue(sent.forward_secret)
        self.assertEqual(sent.pin_change, "new")
        alice.send("bob", {"task": [1, 2.5, None]})
        alice.send("bob", b"\x00\x01binary", content_type="application/pdf", filename="r.pdf")
        received = bob.receive()
        self.assertEqual([m.body for m in received[:2]], ["hello bob", {"task": [1, 2.5, None]}])
        self.assertTrue(all(m.verified and m.forward_secret for m in received))
        self.assertEqual(received[2].data, b"\x00\x01binary")
        self.assertEqual(
            (received[2].content_type, received[2].filename), ("application/pdf", "r.pdf")
        )
        self.assertEqual(received[0].uid, sent.uid)
        # Used prekey secrets are gone from disk; the receipt asked for went back to alice.
        self.assertEqual(len(bob._prekeys.list()), 47)
        self.assertEqual(bob.receive(), [])
        self.assertEqual(alice.receive(), [])
        self.assertEqual(
            [(r.sender, r.of, r.verified) for r in alice.receipts], [("bob", [sent.uid], True)]
        )
        self.assertEqual(alice.deliveries()[0]["deliveredAt"] > 0, True)
        answer = bob.reply(received[0], "thanks")
        back = alice.receive()[0]
        self.assertEqual((back.reply_to, back.thread_id, back.body), (sent.uid, sent.uid, "thanks"))
        self.assertTrue(answer.forward_secret)

    def test_no_prekey_left_seals_v1_and_a_note_to_oneself(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob")
        self.relay.prekeys["bob"].clear()
        self.assertFalse(alice.send("bob", "v1").forward_secret)
        self.assertFalse(alice.send("alice", "note").forward_secret)
        self.assertEqual(bob.receive()[0].body, "v1")
        note = alice.receive()[0]
        self.assertTrue(note.verified)

    def test_receipts_off(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob", receipts=False)
        alice.send("bob", "x", receipt=True)
        self.assertTrue(bob.receive()[0].receipt_requested)
        self.assertEqual(alice.receive(), [])
        self.assertEqual(list(alice.receipts), [])

    def test_refuses_bodies_that_are_not_plain_json(self) -> None:
        alice = self.agent("alice")
        self.agent("bob")
        deep: list = []
        for _ in range(65):
            deep = [deep]
        for body in (deep, float("nan"), {1: 2}, None):
            with self.assertRaises(DeadDropError) as refused:
                alice.send("bob", body)
            self.assertEqual(refused.exception.reason, "INVALID_MESSAGE")
        self.assertNotIn("send", self.relay.paths())


class Keys(AgentTest):
    def test_a_changed_directory_key_is_refused_unless_rotations_lead_there(self) -> None:
        alice, self_bob = self.agent("alice"), self.agent("bob")
        alice.send("bob", "first")
        self.assertEqual(alice.pins["bob"].source, "directory")
        stranger = AgentKeys(bytes([9] * 32))
        self.relay.directory["bob"]["agentKey"] = stranger.agent_key
        with self.assertRaises(DeadDropError) as refused:
            alice.send("bob", "second")
        self.assertEqual(refused.exception.reason, "KEY_CHANGED")
        # A verified rotation from the pin to the directory's key moves the pin.
        step = sign_rotation(self.relay.relay_id, "bob", self_bob.identity.keys, stranger, 5)
        self.relay.directory["bob"]["rotations"] = [step]
        self.relay.prekeys["bob"] = [generate_prekey("bob", stranger).prekey]
        sent = alice.send("bob", "third")
        self.assertEqual((sent.pin_change, sent.forward_secret), ("replaced", True))
        self.assertEqual(alice.pins["bob"].key, stranger.agent_key)
        self.assertTrue(any("key rotated" in line for line in self.warnings))
        # A forged step (signed for another relay) is no chain.
        other = AgentKeys(bytes([8] * 32))
        forged = sign_rotation("relay-elsewhere", "bob", stranger, other, 6)
        self.relay.directory["bob"].update(agentKey=other.agent_key, rotations=[step, forged])
        with self.assertRaises(DeadDropError) as refused:
            alice.send("bob", "fourth")
        self.assertEqual(refused.exception.reason, "KEY_CHANGED")

    def test_prekeys_not_signed_by_the_pin_or_malformed_send_nothing(self) -> None:
        alice = self.agent("alice")
        self.agent("bob")
        self.relay.prekeys["bob"] = [generate_prekey("bob", AgentKeys(bytes([7] * 32))).prekey]
        with self.assertRaises(DeadDropError) as refused:
            alice.send("bob", "x")
        self.assertEqual(refused.exception.reason, "PREKEY_INVALID")
        self.relay.prekeys["bob"] = [{"id": "short", "key": "x", "sig": "y"}]
        with self.assertRaises(DeadDropError) as refused:
            alice.send("bob", "x")
        self.assertEqual(refused.exception.reason, "PREKEY_INVALID")
        self.assertNotIn("send", self.relay.paths())
        # A claim the relay does not serve downgrades to v1, it never stops mail.
        self.relay.overrides["directory.claimPrekey"] = lambda _: refusal(429, "RATE_LIMITED")
        self.assertFalse(alice.send("bob", "x").forward_secret)

    def test_strict_mode_and_explicit_keys(self) -> None:
        bob = self.agent("bob")
        alice = self.agent("alice", strict=True)
        with self.assertRaises(DeadDropError) as refused:
            alice.send("bob", "x")
        self.assertEqual(refused.exception.reason, "NOT_PINNED")
        self.assertNotIn("directory.claimPrekey", self.relay.paths())
        wrong = AgentKeys(bytes([3] * 32)).agent_key
        with self.assertRaises(DeadDropError) as refused:
            alice.send("bob", "x", key=wrong)
        self.assertEqual(refused.exception.reason, "KEY_MISMATCH")
        sent = alice.send("bob", "x", key=bob.agent_key)
        self.assertEqual((sent.pin_source, sent.pin_change), ("explicit", "new"))
        self.assertEqual(self.load("alice", strict=True).send("bob", "y").pin_change, "none")

    def test_senders_are_judged_by_their_pin(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob")
        mallory = AgentKeys(bytes([5] * 32))
        bob.receive()  # nothing yet
        inner = {
            "v": 1,
            "id": to_b64u(os.urandom(16)),
            "kind": "message",
            "from": "alice",
            "fromKey": mallory.agent_key,
            "to": "bob",
            "sentAt": alice._now(),
            "body": "I am alice",
        }
        self.relay.store(
            "bob",
            seal_inner_bytes(
                dumps(inner).encode(), mallory.signing, bob.identity.keys.box_public_key
            ),
        )
        alice.send("bob", "really alice")
        forged, honest = bob.receive()
        self.assertEqual(
            (forged.verified, forged.problem, forged.pin_source),
            (False, "key-mismatch", "directory"),
        )
        self.assertTrue(honest.verified)
        stale = dict(inner, id=to_b64u(os.urandom(16)), fromKey=alice.agent_key, sentAt=1)
        self.relay.store(
            "bob",
            seal_inner_bytes(
                dumps(stale).encode(), alice.identity.keys.signing, bob.identity.keys.box_public_key
            ),
        )
        unknown = dict(inner, id=to_b64u(os.urandom(16)), **{"from": "carol"})
        self.relay.store(
            "bob",
            seal_inner_bytes(
                dumps(unknown).encode(), mallory.signing, bob.identity.keys.box_public_key
            ),
        )
        old, stranger = bob.receive()
        self.assertEqual((old.verified, old.problem), (False, "stale"))
        self.assertEqual((stranger.verified, stranger.problem), (False, "unknown-sender"))


class Hostile(AgentTest):
    def test_a_deep_body_is_reported_once_and_the_next_message_arrives(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob")
        head = dumps(
            {
                "v": 1,
                "id": to_b64u(os.urandom(16)),
                "kind": "message",
                "from": "alice",
                "fromKey": alice.agent_key,
                "to": "bob",
                "sentAt": alice._now(),
            }
        )
        deep = head[:-1] + ',"body":' + "[" * 10_000 + "]" * 10_000 + "}"
        stored = self.relay.store(
            "bob",
            seal_inner_bytes(
                deep.encode(), alice.identity.keys.signing, bob.identity.keys.box_public_key
            ),
        )
        alice.send("bob", "next")
        bad, good = bob.receive()
        self.assertEqual((bad.id, bad.unreadable, bad.problem), (stored["id"], True, "bad-inner"))
        self.assertEqual(
            bad.to_json(),
            {"id": stored["id"], "receivedAt": stored["receivedAt"], "error": "bad-inner"},
        )
        self.assertEqual(good.body, "next")
        self.assertEqual(bob.receive(), [])
        # A copy of a message already read is a replay, also after a restart.
        self.relay.store("bob", self.relay.mailboxes["bob"][1]["ciphertext"])
        self.assertEqual([m.problem for m in self.load("bob").receive()], ["replayed"])

    def test_broken_poll_answers_move_nothing(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob")
        alice.send("bob", "one")
        alice.send("bob", "two")
        real = self.relay.do_poll
        lies = {
            "reversed": lambda p: {**real(p), "messages": list(reversed(real(p)["messages"]))},
            "cursor back": lambda p: {**real(p), "cursor": "0-0"},
            "too many": lambda p: {**real(p), "messages": real(p)["messages"] * 60},
            "not json": lambda p: Reply(200, "<html>"),
            "deep": lambda p: Reply(200, "[" * 100_000 + "]" * 100_000),
            "huge": lambda p: Reply(200, '"' + "x" * (5 * 1024 * 1024) + '"'),
            "bad message": lambda p: {**real(p), "messages": [{"id": "x"}]},
        }
        for name, lie in lies.items():
            with self.subTest(name):
                self.relay.overrides["poll"] = lie
                with self.assertRaises(DeadDropError) as refused:
                    bob.receive(limit=1 if name in ("too many", "huge") else 50)
                self.assertEqual(refused.exception.reason, "RELAY_INVALID_RESPONSE")
        del self.relay.overrides["poll"]
        self.assertEqual([m.body for m in bob.receive()], ["one", "two"])

    def test_relay_refusals_are_typed(self) -> None:
        self.agent("alice")
        bob = self.agent("bob")
        self.relay.overrides["stats"] = lambda _: Reply(503, "<html>proxy</html>", "text/html")
        with self.assertRaises(DeadDropError) as refused:
            bob.stats()
        self.assertEqual(
            (refused.exception.reason, refused.exception.http_status),
            ("RELAY_INVALID_RESPONSE", 503),
        )
        self.relay.overrides["stats"] = lambda _: refusal(429, "RATE_LIMITED", "slow down")
        with self.assertRaises(DeadDropError) as refused:
            bob.stats()
        self.assertEqual(
            (refused.exception.reason, str(refused.exception)), ("RATE_LIMITED", "slow down")
        )

    def test_a_relay_that_lost_the_agent_is_registered_again(self) -> None:
        bob = self.agent("bob")
        del self.relay.directory["bob"]
        answers = iter([refusal(401, "AGENT_NOT_REGISTERED")])
        real = self.relay.do_poll
        self.relay.overrides["poll"] = lambda p: next(answers, None) or real(p)
        self.assertEqual(bob.receive(), [])
        self.assertIn("bob", self.relay.directory)
        self.assertTrue(any("registered the identity again" in line for line in self.warnings))

    def test_the_access_key_and_proofs_travel_in_headers(self) -> None:
        bob = self.agent("bob", api_key="k-123")
        bob.stats()
        for path, _, headers in self.relay.calls:
            lowered = {name.lower(): value for name, value in headers.items()}
            self.assertEqual(lowered.get("x-deaddrop-api-key"), "k-123", path)
        path, _, headers = self.relay.calls[-1]
        self.assertEqual(path, "stats")
        proof = {name.lower(): value for name, value in headers.items()}["authorization"]
        self.assertTrue(proof.startswith("DeadDrop "))
        decoded = json.loads(from_b64u(proof.split(" ", 1)[1]))
        self.assertEqual(sorted(decoded), ["agentId", "nonce", "scope", "sig", "ts"])
        self.assertEqual((decoded["agentId"], decoded["scope"]), ("bob", "stats"))

    def test_a_relay_that_drips_its_answer_is_cut_off_at_the_timeout(self) -> None:
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def drip() -> None:
            conn, _ = server.accept()
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
            )
            try:
                for _ in range(100):
                    conn.sendall(b" ")
                    time.sleep(0.2)
            except OSError:
                pass
            conn.close()

        threading.Thread(target=drip, daemon=True).start()
        started = time.monotonic()
        with self.assertRaises(DeadDropError) as refused:
            Relay(f"http://127.0.0.1:{port}", timeout_ms=1_000).request("info")
        self.assertEqual(refused.exception.reason, "RELAY_UNREACHABLE")
        self.assertLess(time.monotonic() - started, 3)
        server.close()

    def test_unreachable_relay(self) -> None:
        bob = self.agent("bob")
        self.relay.close()
        with self.assertRaises(DeadDropError) as refused:
            bob.delete(["1-0"])
        self.assertEqual(refused.exception.reason, "RELAY_UNREACHABLE")


class Live(AgentTest):
    def collect(self, agent: Agent, count: int) -> list:
        stop = threading.Event()
        seen = []
        for message in agent.listen(stop=stop):
            seen.append(message)
            if len(seen) == count:
                stop.set()
        return seen

    def test_listen_hands_over_the_backlog_and_new_mail_once(self) -> None:
        alice, bob = self.agent("alice"), self.agent("bob")
        alice.send("bob", "one", receipt=True)
        alice.send("bob", "two")
        self.assertEqual([m.body for m in self.collect(bob, 2)], ["one", "two"])
        alice.send("bob", "three")
        self.assertEqual([m.body for m in self.collect(self.load("bob"), 1)], ["three"])
        # The cursor each run saved: a poll finds nothing; the receipt went out within a second.
        self.assertEqual(self.load("bob").receive(), [])
        time.sleep(1.5)
        self.assertEqual(alice.receive(), [])
        self.assertEqual(len(alice.receipts), 1)
        # Leaving the loop at a message hands it over.
        alice.send("bob", "four")
        alice.send("bob", "five")
        for message in self.load("bob").listen():
            self.assertEqual(message.body, "four")
            break
        self.assertEqual([m.body for m in self.load("bob").receive()], ["five"])

    def test_a_stream_that_lies_is_refused(self) -> None:
        self.agent("alice")
        bob = self.agent("bob")
        lies = {
            "endless line": [b": connected\n\n", b"data: " + b"x" * (2 * 1024 * 1024)],
            "not json": [b"id: 1-0\ndata: {nope\n\n"],
            "wrong shape": [b'id: 1-0\ndata: {"id":"1-0"}\n\n'],
            "another id": [
                b'id: 2-0\ndata: {"id":"1-0","ciphertext":"AA","receivedAt":1,"expiresAt":2}\n\n'
            ],
        }
        for name, frames in lies.items():
            with self.subTest(name):
                self.relay.inbox_override = lambda agent, after, frames=frames: iter(frames)
                with self.assertRaises(DeadDropError) as refused:
                    self.collect(bob, 1)
                self.assertEqual(refused.exception.reason, "RELAY_INVALID_RESPONSE")
        # A refusal no retry fixes ends the inbox; the cursor never moved.
        self.relay.inbox_override = None
        self.relay.overrides.clear()


class Files(AgentTest):
    def test_identity_state_and_prekeys_files_are_the_typescript_formats(self) -> None:
        bob = self.agent("bob")
        alice = self.agent("alice")
        alice.send("bob", "x", receipt=True)
        bob.receive()
        agents = os.path.join(self._dir.name, "bob", "agents")
        with open(os.path.join(agents, "bob.state.json"), encoding="utf-8") as handle:
            state = json.load(handle)
        self.assertEqual(
            sorted(state), ["cursors", "deliveries", "forgottenThrough", "recent", "seen", "v"]
        )
        self.assertEqual(list(state["cursors"]), [self.relay.relay_id])
        with open(os.path.join(agents, "bob.prekeys.json"), encoding="utf-8") as handle:
            prekeys = json.load(handle)
        self.assertEqual(sorted(prekeys), ["agentId", "prekeys", "used", "v"])
        self.assertEqual(sorted(prekeys["prekeys"][0]), ["createdAt", "id", "key", "secretKey"])
        self.assertEqual(len(prekeys["used"]), 1)
        with open(os.path.join(agents, "bob.json"), encoding="utf-8") as handle:
            identity = json.load(handle)
        self.assertEqual(identity["pins"]["alice"]["source"], "directory")


if __name__ == "__main__":
    unittest.main()
