"""Every known-answer vector of protocol v1 and v1.1 (copied from contract/test/fixtures), computed
with libsodium independently of either client, reproduced byte for byte."""

from __future__ import annotations

import json
import os
import unittest

from deaddrop.b64u import from_b64u, to_b64u
from deaddrop.crypto import hmac_sha256_hex
from deaddrop.envelope import (
    build_inner_bytes,
    open_message,
    open_message_v2,
    pad_len,
    read_prekey_id,
    seal_inner_bytes,
    seal_message_v2,
)
from deaddrop.identity import AgentKeys, parse_agent_key
from deaddrop.jsonvalue import dumps
from deaddrop.statements import (
    create_proof,
    encode_authorization,
    generate_prekey,
    prekey_signed_bytes,
    rotation_signed_bytes,
    sign_registration,
    sign_rotation,
    verify_prekey,
    verify_rotation_chain,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def load(name: str) -> dict:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


V1 = load("vectors-v1.json")
V11 = load("vectors-v1.1.json")
KEYS = {
    identity["agentId"]: AgentKeys(from_b64u(identity["seed"])) for identity in V1["identities"]
}


def b(text: str) -> bytes:
    value = from_b64u(text)
    assert value is not None, text
    return value


class IdentityVectors(unittest.TestCase):
    def test_identities(self) -> None:
        for vector in V1["identities"]:
            with self.subTest(agent=vector["agentId"]):
                keys = KEYS[vector["agentId"]]
                self.assertEqual(to_b64u(keys.sign_public_key), vector["signPublicKey"])
                self.assertEqual(to_b64u(keys.box_public_key), vector["boxPublicKey"])
                self.assertEqual(keys.agent_key, vector["agentKey"])
                self.assertEqual(keys.fingerprint, vector["fingerprint"])
                parsed = parse_agent_key(vector["agentKey"])
                self.assertIsNotNone(parsed)
                self.assertEqual(parsed.fingerprint, vector["fingerprint"])

    def test_pad_len(self) -> None:
        for n, padded in V1["padLen"]:
            self.assertEqual(pad_len(n), padded, n)


class EnvelopeVectors(unittest.TestCase):
    def test_v1_envelopes_seal_and_open(self) -> None:
        for vector in V1["envelopes"]:
            with self.subTest(sender=vector["sender"], recipient=vector["recipient"]):
                ciphertext = seal_inner_bytes(
                    vector["innerJson"].encode("utf-8"),
                    KEYS[vector["sender"]].signing,
                    KEYS[vector["recipient"]].box_public_key,
                    b(vector["ephemeralSecretKey"]),
                    b(vector["nonce"]),
                )
                self.assertEqual(ciphertext, vector["ciphertext"])
                opened = open_message(ciphertext, vector["recipient"], KEYS[vector["recipient"]])
                self.assertTrue(opened.ok, opened.reason)
                self.assertEqual(opened.message, json.loads(vector["innerJson"]))
                signature = KEYS[vector["sender"]].signing.sign(
                    b"deaddrop/msg/v1\0"
                    + KEYS[vector["recipient"]].box_public_key
                    + vector["innerJson"].encode()
                )
                self.assertEqual(to_b64u(signature), vector["signature"])
                self.assertEqual(
                    pad_len(4 + len(vector["innerJson"].encode()) + 64), vector["paddedLength"]
                )

    def test_v1_envelopes_are_refused_by_anyone_else(self) -> None:
        vector = V1["envelopes"][0]
        other = next(agent for agent in KEYS if agent not in (vector["recipient"],))
        opened = open_message(vector["ciphertext"], other, KEYS[other])
        self.assertFalse(opened.ok)
        self.assertEqual(opened.reason, "decrypt-failed")
        opened = open_message(vector["ciphertext"], "mallory", KEYS[vector["recipient"]])
        self.assertEqual(opened.reason, "wrong-recipient")

    def test_v2_envelopes_seal_and_open(self) -> None:
        prekeys = {prekey["id"]: prekey for prekey in V11["prekeys"]}
        for vector in V11["envelopesV2"]:
            with self.subTest(prekey=vector["prekeyId"]):
                prekey = prekeys[vector["prekeyId"]]
                inner = (vector["innerJson"].encode("utf-8"), "unused", 0)
                sealed = seal_message_v2(
                    inner,
                    KEYS[vector["sender"]],
                    vector["prekeyId"],
                    prekey["key"],
                    b(vector["ephemeralSecretKey"]),
                    b(vector["nonce"]),
                )
                self.assertEqual(sealed.ciphertext, vector["ciphertext"])
                self.assertEqual(read_prekey_id(sealed.ciphertext), vector["prekeyId"])
                opened = open_message_v2(
                    sealed.ciphertext,
                    vector["recipient"],
                    vector["prekeyId"],
                    b(prekey["secretKey"]),
                )
                self.assertTrue(opened.ok, opened.reason)
                self.assertEqual(opened.message, json.loads(vector["innerJson"]))
                other = next(p for p in V11["prekeys"] if p["id"] != vector["prekeyId"])
                refused = open_message_v2(
                    sealed.ciphertext, vector["recipient"], other["id"], b(other["secretKey"])
                )
                self.assertEqual(refused.reason, "prekey-unknown")
                # The identity key does not open a prekey envelope.
                self.assertEqual(
                    open_message(
                        sealed.ciphertext, vector["recipient"], KEYS[vector["recipient"]]
                    ).reason,
                    "bad-version",
                )

    def test_v11_inner_documents_are_written_as_the_vectors(self) -> None:
        for vector in V11["innerMessages"]:
            with self.subTest(uid=vector["id"]):
                options = {
                    name: vector[name]
                    for name in (
                        "contentType",
                        "filename",
                        "replyTo",
                        "threadId",
                        "group",
                        "receipt",
                    )
                    if name in vector
                }
                inner = build_inner_bytes(
                    sender=vector["from"],
                    sender_keys=KEYS[vector["from"]],
                    to=vector["to"],
                    body=vector["body"],
                    kind=vector["kind"],
                    options=options,
                    uid=vector["id"],
                    sent_at=vector["sentAt"],
                )
                self.assertEqual(inner[0], dumps(vector).encode("utf-8"))
                ciphertext = seal_inner_bytes(
                    inner[0], KEYS[vector["from"]].signing, KEYS[vector["to"]].box_public_key
                )
                opened = open_message(ciphertext, vector["to"], KEYS[vector["to"]])
                self.assertTrue(opened.ok, opened.reason)
                self.assertEqual(opened.message, vector)


class StatementVectors(unittest.TestCase):
    def test_auth_proofs(self) -> None:
        for vector in V1["authProofs"]:
            proof = vector["proof"]
            with self.subTest(scope=proof["scope"]):
                made = create_proof(
                    vector["relayId"],
                    proof["agentId"],
                    KEYS[proof["agentId"]],
                    proof["scope"],
                    proof["ts"],
                    proof["nonce"],
                )
                self.assertEqual(made, proof)
                self.assertEqual(encode_authorization(made), vector["header"])

    def test_registrations(self) -> None:
        for vector in V1["registrations"]:
            with self.subTest(agent=vector["agentId"]):
                made = sign_registration(
                    vector["relayId"], vector["agentId"], KEYS[vector["agentId"]], vector["ts"]
                )
                self.assertEqual(
                    made, {key: vector[key] for key in ("agentId", "agentKey", "ts", "sig")}
                )

    def test_prekeys(self) -> None:
        for vector in V11["prekeys"]:
            with self.subTest(prekey=vector["id"]):
                owner = KEYS[vector["agentId"]]
                made = generate_prekey(
                    vector["agentId"], owner, b(vector["id"]), b(vector["secretKey"])
                )
                self.assertEqual(
                    made.prekey, {"id": vector["id"], "key": vector["key"], "sig": vector["sig"]}
                )
                self.assertEqual(
                    to_b64u(prekey_signed_bytes(vector["agentId"], vector["id"], vector["key"])),
                    vector["signedBytes"],
                )
                self.assertTrue(verify_prekey(vector["agentId"], made.prekey, owner.public))
                stranger = next(keys for agent, keys in KEYS.items() if agent != vector["agentId"])
                self.assertFalse(verify_prekey(vector["agentId"], made.prekey, stranger.public))
                self.assertFalse(verify_prekey("someone-else", made.prekey, owner.public))

    def test_rotations(self) -> None:
        for vector in V11["rotations"]:
            new_keys = AgentKeys(b(vector["newSeed"]))
            self.assertEqual(new_keys.agent_key, vector["newKey"])
            step = sign_rotation(
                vector["relayId"],
                vector["agentId"],
                KEYS[vector["agentId"]],
                new_keys,
                vector["ts"],
            )
            self.assertEqual(step["sigOld"], vector["sigOld"])
            self.assertEqual(step["sigNew"], vector["sigNew"])
            signed = rotation_signed_bytes(
                vector["relayId"],
                vector["agentId"],
                vector["oldKey"],
                vector["newKey"],
                vector["ts"],
            )
            self.assertEqual(to_b64u(signed), vector["signedBytes"])
            ok, steps = verify_rotation_chain(
                vector["relayId"], vector["agentId"], vector["oldKey"], vector["newKey"], [step]
            )
            self.assertTrue(ok)
            ok, reason = verify_rotation_chain(
                "relay-other", vector["agentId"], vector["oldKey"], vector["newKey"], [step]
            )
            self.assertEqual((ok, reason), (False, "bad-sig-old"))

    def test_webhook_signatures(self) -> None:
        for vector in V11["webhookSignatures"]:
            mac = hmac_sha256_hex(vector["secret"], f"{vector['timestamp']}.{vector['body']}")
            self.assertEqual(f"t={vector['timestamp']},v1={mac}", vector["header"])


if __name__ == "__main__":
    unittest.main()
