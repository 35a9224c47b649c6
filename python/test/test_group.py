"""Group sends (PROTOCOL §8) against the relay in miniature: every copy sealed separately with a
prekey of its own and naming the whole group, sendMany in chunks the relay accepts, single sends to
a relay without v1.1, results per recipient, relay-wide failures raised — and reply-all."""

from __future__ import annotations

import json
from typing import Any

from deaddrop import DeadDropError, GroupSent
from deaddrop.group_send import send_many_chunks

from fake_relay import Reply, refusal
from test_agent import AgentTest


class _Sized:
    def __init__(self, size: int) -> None:
        self.bytes = size


class Chunks(AgentTest):
    def test_at_most_100_items_and_the_batch_bytes(self) -> None:
        sizes = [len(chunk) for chunk in send_many_chunks([_Sized(1)] * 250, 10_000)]
        self.assertEqual(sizes, [100, 100, 50])
        chunks = send_many_chunks([_Sized(n) for n in (400, 400, 300, 500, 1000)], 1000)
        self.assertEqual(
            [[item.bytes for item in chunk] for chunk in chunks], [[400, 400], [300, 500], [1000]]
        )
        self.assertEqual(send_many_chunks([], 1000), [])


class GroupSend(AgentTest):
    def test_every_copy_sealed_to_its_recipient_naming_the_group(self) -> None:
        alice, bob, carol = self.agent("alice"), self.agent("bob"), self.agent("carol")
        sent = alice.send(["bob", "carol", "nobody"], {"plan": "go"}, receipt=True)
        self.assertIsInstance(sent, GroupSent)
        self.assertEqual(sent.members, ["alice", "bob", "carol", "nobody"])
        self.assertEqual(
            [(r.to, r.ok) for r in sent.results],
            [("bob", True), ("carol", True), ("nobody", False)],
        )
        failed = sent.results[2].error
        assert failed is not None
        self.assertEqual(failed.reason, "AGENT_NOT_FOUND")
        # One sendMany for both sealed copies; a prekey claimed for each, none for "nobody".
        self.assertEqual(self.relay.paths().count("sendMany"), 1)
        self.assertNotIn("send", self.relay.paths())
        many = next(payload for path, payload, _ in self.relay.calls if path == "sendMany")
        self.assertEqual([item["to"] for item in many["items"]], ["bob", "carol"])
        self.assertEqual(len({item["idempotencyKey"] for item in many["items"]}), 2)
        self.assertEqual(
            (len(self.relay.prekeys["bob"]), len(self.relay.prekeys["carol"])), (49, 49)
        )
        copies = [bob.receive()[0], carol.receive()[0]]
        for copy in copies:
            self.assertTrue(copy.verified and copy.forward_secret)
            self.assertEqual(copy.body, {"plan": "go"})
            self.assertEqual(copy.group, {"id": sent.group_id, "members": sent.members})
            self.assertTrue(copy.receipt_requested)
        self.assertNotEqual(copies[0].uid, copies[1].uid)
        self.assertEqual({d["to"] for d in alice.deliveries()}, {"bob", "carol"})

    def test_reply_all_answers_the_group_in_its_thread(self) -> None:
        alice, bob, carol = self.agent("alice"), self.agent("bob"), self.agent("carol")
        sent = alice.send(["bob", "carol"], "hello both")
        first = bob.receive()[0]
        carols = carol.receive()[0]
        answered = bob.reply_all(first, "hi all")
        self.assertEqual((answered.group_id, answered.members), (sent.group_id, sent.members))
        self.assertEqual([r.to for r in answered.results], ["alice", "carol"])
        for reader in (alice, carol):
            got = reader.receive()[0]
            self.assertEqual((got.sender, got.body, got.reply_to), ("bob", "hi all", first.uid))
            self.assertEqual(got.thread_id, first.uid)
            self.assertEqual(got.group, {"id": sent.group_id, "members": sent.members})
        # By what the state file remembers of it, as the CLI's reply --all does.
        remembered = carol.find_received(carols.id)
        assert remembered is not None
        again = carol.reply_all(remembered, "me too")
        self.assertEqual([r.to for r in again.results], ["alice", "bob"])
        self.assertEqual(alice.receive()[0].thread_id, carols.uid)
        # Answered outside any group: to its sender, in a new group of two.
        alice.send("bob", "just you")
        single = bob.receive()[-1]
        self.assertEqual((single.body, single.group), ("just you", None))
        two = bob.reply_all(single, "just me")
        self.assertEqual(two.members, ["bob", "alice"])
        self.assertNotEqual(two.group_id, sent.group_id)

    def test_chunks_follow_the_relay_batch_limit(self) -> None:
        alice = self.agent("alice")
        for name in ("b1", "b2", "b3"):
            self.agent(name)
        info = self.relay.do_info({})
        info["limits"]["maxBatchBytes"] = info["limits"]["maxMessageBytes"]
        self.relay.overrides["info"] = lambda _: info
        alice._info = None
        sent = alice.send(["b1", "b2", "b3"], "x" * 400_000)
        self.assertTrue(all(result.ok for result in sent.results))
        sizes = [len(p["items"]) for path, p, _ in self.relay.calls if path == "sendMany"]
        self.assertEqual(sizes, [2, 1])

    def test_single_sends_to_a_relay_without_v1_1(self) -> None:
        alice = self.agent("alice")
        self.agent("bob")
        self.agent("carol")
        info = self.relay.do_info({})
        info["protocol"] = ["v1"]
        self.relay.overrides["info"] = lambda _: info
        alice._info = None
        sent = alice.send(["bob", "carol"], "old relay")
        self.assertTrue(all(result.ok for result in sent.results))
        self.assertNotIn("sendMany", self.relay.paths())
        self.assertEqual(self.relay.paths().count("send"), 2)

    def test_refused_items_and_lying_answers_are_per_recipient(self) -> None:
        alice = self.agent("alice")
        self.agent("bob")
        self.agent("carol")

        def full_for_carol(payload: dict[str, Any]) -> Any:
            answer = self.relay.do_sendMany({"items": payload["items"][:1]})
            answer["results"].append(
                {"to": "carol", "ok": False, "code": "X", "reason": "MAILBOX_FULL", "message": ""}
            )
            return answer

        self.relay.overrides["sendMany"] = full_for_carol
        sent = alice.send(["bob", "carol"], "one")
        self.assertTrue(sent.results[0].ok)
        error = sent.results[1].error
        assert error is not None
        self.assertEqual(error.reason, "MAILBOX_FULL")
        self.assertIn("refused it", str(error))

        def swapped(payload: dict[str, Any]) -> Any:
            answer = self.relay.do_sendMany(payload)
            answer["results"].reverse()
            return answer

        self.relay.overrides["sendMany"] = swapped
        sent = alice.send(["bob", "carol"], "two")
        reasons = [result.error.reason for result in sent.results if result.error is not None]
        self.assertEqual(reasons, ["RELAY_INVALID_RESPONSE"] * 2)
        assert sent.results[0].error is not None
        self.assertIn(
            'its sendMany answer answers for "carol" where recipient 1 is "bob"',
            str(sent.results[0].error),
        )

    def test_a_relay_wide_failure_raises(self) -> None:
        alice = self.agent("alice")
        self.agent("bob")
        self.relay.overrides["directory.lookup"] = lambda _: Reply(200, json.dumps({"no": 1}))
        with self.assertRaises(DeadDropError) as caught:
            alice.send(["bob"], "x")
        self.assertEqual(caught.exception.reason, "RELAY_INVALID_RESPONSE")
        self.relay.overrides["directory.lookup"] = lambda _: refusal(401, "API_KEY_INVALID")
        with self.assertRaises(DeadDropError) as caught:
            alice.send(["bob"], "x")
        self.assertEqual(caught.exception.reason, "API_KEY_INVALID")

    def test_recipients_are_checked_before_anything_is_sent(self) -> None:
        alice = self.agent("alice")
        cases = [
            ([], "a group send names 1–99 recipients"),
            (["alice", "bob"], '"alice" is you'),
            (["bob", "bob"], 'recipient "bob" is named more than once'),
            (["Bad"], "is not a valid agent id"),
            ([f"m{i}" for i in range(100)], "1–99 recipients"),
        ]
        before = len(self.relay.calls)
        for to, text in cases:
            with self.assertRaises(DeadDropError) as caught:
                alice.send(to, "x")
            self.assertIn(text, str(caught.exception))
        with self.assertRaises(DeadDropError) as caught:
            alice.send(["bob"], "x", key=alice.agent_key)
        self.assertIn("a group send pins each", str(caught.exception))
        with self.assertRaises(DeadDropError) as caught:
            alice.send(["bob"], "x", group={"id": "A" * 22, "members": ["alice", "carol"]})
        self.assertIn(
            '"bob" writes or receives this message but is not one of its members',
            str(caught.exception),
        )
        self.assertEqual(len(self.relay.calls), before)
