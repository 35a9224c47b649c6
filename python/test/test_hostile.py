"""Hostile content (PROTOCOL §6): whatever a sender puts inside a validly sealed and signed
envelope, opening it gives a typed verdict — never an exception, never a hang — and JSON is read
and written as JavaScript reads and writes it."""

from __future__ import annotations

import json
import time
import unittest

from deaddrop.b64u import from_b64u, is_canonical_b64u, to_b64u
from deaddrop.crypto import is_strong_ed25519_public_key, is_strong_x25519_public_key
from deaddrop.envelope import (
    build_inner_bytes,
    open_message,
    open_message_v2,
    seal_inner_bytes,
)
from deaddrop.identity import AgentKeys, parse_agent_key
from deaddrop.inner import check_inner
from deaddrop.jsonvalue import JsonError, dumps, is_json_value, parse, text_depth_within

ALICE = AgentKeys(bytes(range(32)))
BOB = AgentKeys(bytes(range(1, 33)))


def inner(**changes: object) -> dict:
    document = {
        "v": 1,
        "id": to_b64u(bytes([1] * 16)),
        "kind": "message",
        "from": "alice",
        "fromKey": ALICE.agent_key,
        "to": "bob",
        "sentAt": 1_764_000_000_000,
        "body": "hi",
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not ...}


def sealed(text: str | bytes) -> str:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return seal_inner_bytes(data, ALICE.signing, BOB.box_public_key)


def open_text(text: str | bytes) -> str | None:
    opened = open_message(sealed(text), "bob", BOB)
    return None if opened.ok else opened.reason


class Base64url(unittest.TestCase):
    def test_only_canonical_spellings(self) -> None:
        self.assertEqual(from_b64u("AQ"), b"\x01")
        for bad in ("AR", "A", "AQ==", "A+", "A/", "AQ\n", " AQ"):
            self.assertIsNone(from_b64u(bad), bad)
        self.assertTrue(is_canonical_b64u(""))


class Keys(unittest.TestCase):
    def test_small_order_and_non_canonical_keys_are_refused(self) -> None:
        self.assertFalse(is_strong_x25519_public_key(bytes(32)))
        self.assertFalse(is_strong_x25519_public_key(bytes([1]) + bytes(31)))
        self.assertTrue(is_strong_x25519_public_key(BOB.box_public_key))
        identity = bytes([1]) + bytes(31)  # the neutral element, of order 1
        self.assertFalse(is_strong_ed25519_public_key(identity))
        non_canonical = bytes([0xED] + [0xFF] * 30 + [0x7F])  # y = p: not reduced
        self.assertFalse(is_strong_ed25519_public_key(non_canonical))
        self.assertTrue(is_strong_ed25519_public_key(ALICE.sign_public_key))
        forged = "ddk1_" + to_b64u(identity + BOB.box_public_key)
        self.assertIsNone(parse_agent_key(forged))
        self.assertIsNone(parse_agent_key(ALICE.agent_key + "A"))
        self.assertIsNotNone(parse_agent_key(ALICE.agent_key))


class Json(unittest.TestCase):
    def test_depth_scan_skips_strings_and_escapes(self) -> None:
        self.assertTrue(text_depth_within('["[[[[", "\\"[[["]', 1))
        self.assertFalse(text_depth_within("[[1]]", 1))
        self.assertTrue(text_depth_within("[" * 64 + "]" * 64, 64))
        self.assertFalse(text_depth_within("[" * 65 + "]" * 65, 64))

    def test_parse_as_javascript(self) -> None:
        self.assertEqual(parse("1.0", 1), 1.0)
        self.assertEqual(parse("12345678901234567890", 1), 12345678901234567890.0)
        self.assertIsInstance(parse("9007199254740991", 1), int)
        for bad in ("1e999", "-1e400", "NaN", "Infinity", "[1,]", "{'a':1}", "1" * 5000, "\ufeff1"):
            with self.assertRaises(JsonError, msg=bad[:20]):
                parse(bad, 64)
        self.assertEqual(parse('{"a":1,"a":2}', 1), {"a": 2})

    def test_dumps_as_json_stringify(self) -> None:
        self.assertEqual(dumps(1.0), "1")
        self.assertEqual(dumps(-0.0), "0")
        self.assertEqual(dumps(1e21), "1e+21")
        self.assertEqual(dumps(1e-7), "1e-7")
        self.assertEqual(dumps(123e-20), "1.23e-18")
        self.assertEqual(dumps(0.000001), "0.000001")
        self.assertEqual(dumps(2**60), "1152921504606847000")
        self.assertEqual(dumps(1.5), "1.5")
        self.assertEqual(dumps(100.0), "100")
        self.assertEqual(dumps("\ud800x\u2028\x7f\x01"), '"\\ud800x\u2028\x7f\\u0001"')
        self.assertEqual(dumps({"b": 1, "10": 2, "2": 3, "01": 4}), '{"2":3,"10":2,"b":1,"01":4}')
        self.assertEqual(
            dumps({"a": [1, {"b": None}]}, indent=2),
            '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ]\n}',
        )

    def test_is_json_value(self) -> None:
        self.assertTrue(is_json_value({"a": [1, "x", None, True, 1.5]}))
        deep: list = []
        node = deep
        for _ in range(64):
            node.append([])
            node = node[0]
        self.assertFalse(is_json_value(deep, 64))
        self.assertTrue(is_json_value(deep[0], 64))
        cycle: list = []
        cycle.append(cycle)
        self.assertFalse(is_json_value(cycle))
        for bad in (float("nan"), float("inf"), {1: "x"}, object(), b"bytes", 10**400):
            self.assertFalse(is_json_value(bad), repr(bad)[:30])


class InnerDocuments(unittest.TestCase):
    def test_a_valid_document_opens(self) -> None:
        self.assertIsNone(open_text(dumps(inner())))

    def test_deep_bodies_are_bad_inner_fast(self) -> None:
        started = time.monotonic()
        for depth in (65, 10_000, 200_000):
            body = "[" * depth + "]" * depth
            text = dumps(inner(body=None))[:-5] + body + "}"
            with self.subTest(depth=depth):
                self.assertEqual(open_text(text), "bad-inner")
        # A deep unknown field fails the document too, before anything is parsed.
        self.assertEqual(
            open_text(dumps(inner())[:-1] + ',"x":' + "{" * 70 + "}" * 70 + "}"), "bad-inner"
        )
        self.assertLess(time.monotonic() - started, 5)

    def test_huge_bodies_open_in_reasonable_time(self) -> None:
        started = time.monotonic()
        wide = dumps(inner(body=[0] * 400_000))
        self.assertIsNone(open_text(wide))
        long_text = dumps(inner(body='\\u0000"[' * 100_000))
        self.assertIsNone(open_text(long_text))
        keys = dumps(inner(body={f"k{i}": [i] for i in range(50_000)}))
        self.assertIsNone(open_text(keys))
        self.assertLess(time.monotonic() - started, 10)

    def test_sixty_four_levels_open(self) -> None:
        body = "[" * 64 + "]" * 64
        text = dumps(inner(body=None))[:-5] + body + "}"
        self.assertIsNone(open_text(text))

    def test_malformed_fields_are_bad_inner(self) -> None:
        cases = {
            "not json": "{nope",
            "not utf-8": b'{"v":1,"body":"\xff"}',
            "an array": "[]",
            "v 2": dumps(inner(v=2)),
            "v true": dumps(inner(v=True)),
            "kind other": dumps(inner(kind="other")),
            "no body": dumps(inner(body=...)),
            "bad id": dumps(inner(id="short")),
            "bad from": dumps(inner(**{"from": "Alice"})),
            "sentAt float": dumps(inner(sentAt=1.5)),
            "sentAt negative": dumps(inner(sentAt=-1)),
            "sentAt huge": dumps(inner(sentAt=2**53)),
            "fromKey long": dumps(inner(fromKey="k" * 92)),
            "filename without type": dumps(inner(filename="a.txt")),
            "type with text body": dumps(inner(contentType="text/plain", body="not b64u!")),
            "bad type": dumps(inner(contentType="text", body="AA")),
            "filename slash": dumps(inner(contentType="text/plain", filename="a/b", body="AA")),
            "filename dots": dumps(inner(contentType="text/plain", filename="..", body="AA")),
            "receipt false": dumps(inner(receipt=False)),
            "group without me": dumps(
                inner(group={"id": to_b64u(bytes(16)), "members": ["alice", "carol"]})
            ),
            "group repeats": dumps(
                inner(group={"id": to_b64u(bytes(16)), "members": ["alice", "bob", "bob"]})
            ),
            "receipt body": dumps(inner(kind="receipt", body={"of": [], "status": "delivered"})),
            "replyTo null": dumps(inner(replyTo=None)),
            "huge number": dumps(inner())[:-1] + ',"n":1e999}',
        }
        for name, text in cases.items():
            with self.subTest(name):
                self.assertEqual(open_text(text), "bad-inner")

    def test_unknown_fields_are_ignored_and_a_bom_is_skipped(self) -> None:
        self.assertIsNone(open_text(dumps(inner(extra={"anything": [1, 2]}))))
        self.assertIsNone(open_text("\ufeff" + dumps(inner())))

    def test_a_bad_sender_key_or_signature(self) -> None:
        self.assertEqual(open_text(dumps(inner(fromKey="ddk1_" + "A" * 86))), "bad-sender-key")
        self.assertEqual(open_text(dumps(inner(fromKey=BOB.agent_key))), "bad-signature")

    def test_garbage_ciphertexts_never_raise(self) -> None:
        ciphertext = sealed(dumps(inner()))
        raw = from_b64u(ciphertext)
        assert raw is not None
        self.assertEqual(open_message("!!", "bob", BOB).reason, "bad-encoding")
        self.assertEqual(open_message(to_b64u(raw[:100]), "bob", BOB).reason, "too-short")
        self.assertEqual(open_message(to_b64u(b"\x03" + raw[1:]), "bob", BOB).reason, "bad-version")
        for index in (1, 40, 60, 100, len(raw) - 1):
            flipped = bytearray(raw)
            flipped[index] ^= 1
            self.assertEqual(
                open_message(to_b64u(bytes(flipped)), "bob", BOB).reason, "decrypt-failed"
            )
        self.assertEqual(
            open_message_v2(ciphertext, "bob", "AAAAAAAAAAA", bytes(32)).reason, "bad-version"
        )

    def test_senders_cannot_seal_what_receivers_refuse(self) -> None:
        with self.assertRaises(TypeError):
            build_inner_bytes(sender="alice", sender_keys=ALICE, to="bob", body=float("nan"))
        deep: list = []
        for _ in range(70):
            deep = [deep]
        with self.assertRaises(TypeError):
            build_inner_bytes(sender="alice", sender_keys=ALICE, to="bob", body=deep)
        with self.assertRaises(TypeError):
            build_inner_bytes(
                sender="alice", sender_keys=ALICE, to="bob", body="x", options={"filename": "a.txt"}
            )

    def test_check_inner_drops_unknown_group_fields(self) -> None:
        group = {"id": to_b64u(bytes(16)), "members": ["alice", "bob"], "extra": 1}
        checked = check_inner(json.loads(dumps(inner(group=group))))
        assert checked is not None
        self.assertEqual(checked["group"], {"id": group["id"], "members": ["alice", "bob"]})


if __name__ == "__main__":
    unittest.main()
