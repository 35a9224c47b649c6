"""The files under DEADDROP_HOME (PROTOCOL §1), as the TypeScript SDK writes and reads them: modes,
atomic writes, the lock protocol, and fields this client does not know kept on every rewrite."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from deaddrop.errors import DeadDropError
from deaddrop.files import PID_NAMESPACE, file_lock, hold_lock_file, write_file_atomic
from deaddrop.keystore import (
    Pin,
    create_identity,
    identity_lock,
    load_identity,
    save_pin,
    scan_identities,
)
from deaddrop.prekeys import PrekeySecrets
from deaddrop.state import (
    MailboxState,
    ReplayCache,
    compare_message_ids,
    is_fresh,
    load_state,
    save_state,
)


class Scratch(unittest.TestCase):
    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.home = os.path.join(self._dir.name, "home")

    def tearDown(self) -> None:
        self._dir.cleanup()


class AtomicWrites(Scratch):
    def test_private_modes_and_no_overwrite_when_exclusive(self) -> None:
        identity = create_identity("alice", "http://127.0.0.1:1/", self.home, now=1)
        path = identity.path
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.home).st_mode), 0o700)
        with self.assertRaises(DeadDropError) as refused:
            create_identity("alice", "http://127.0.0.1:1", self.home)
        self.assertEqual(refused.exception.reason, "IDENTITY_EXISTS")
        with self.assertRaises(FileExistsError):
            write_file_atomic(path, "{}", exclusive=True)
        for reserved in ("alice.state", "alice.prekeys", "Alice", "../x"):
            with self.assertRaises(DeadDropError) as refused:
                create_identity(reserved, "http://127.0.0.1:1", self.home)
            self.assertEqual(refused.exception.reason, "INVALID_AGENT_ID")
        self.assertEqual(
            [name for name in os.listdir(os.path.dirname(path)) if name.endswith(".tmp")], []
        )

    def test_identity_file_format(self) -> None:
        identity = create_identity(
            "alice", "http://127.0.0.1:8000/", self.home, seed=bytes(32), now=1795651068551
        )
        with open(identity.path, encoding="utf-8") as handle:
            text = handle.read()
        self.assertTrue(text.endswith("}\n"))
        document = json.loads(text)
        self.assertEqual(list(document), ["v", "agentId", "seed", "relayUrl", "createdAt", "pins"])
        self.assertEqual(document["relayUrl"], "http://127.0.0.1:8000")
        self.assertEqual(document["seed"], "A" * 43)
        self.assertIn('\n  "agentId": "alice",\n', text)


class IdentityFiles(Scratch):
    def test_pins_are_saved_and_unknown_fields_kept(self) -> None:
        identity = create_identity("alice", "http://127.0.0.1:1", self.home)
        with open(identity.path, encoding="utf-8") as handle:
            document = json.load(handle)
        document["futureField"] = {"kept": True}
        document["pins"]["carol"] = {
            "key": "ddk1_x",
            "source": "explicit",
            "pinnedAt": 5,
            "note": "n",
        }
        write_file_atomic(identity.path, json.dumps(document, indent=2) + "\n")
        loaded = load_identity("alice", self.home)
        save_pin(loaded, "bob", Pin("ddk1_bob", "directory", 7))
        save_pin(loaded, "carol", Pin("ddk1_y", "explicit", 8))
        with open(identity.path, encoding="utf-8") as handle:
            after = json.load(handle)
        self.assertEqual(after["futureField"], {"kept": True})
        self.assertEqual(
            after["pins"]["bob"], {"key": "ddk1_bob", "source": "directory", "pinnedAt": 7}
        )
        self.assertEqual(
            after["pins"]["carol"],
            {"key": "ddk1_y", "source": "explicit", "pinnedAt": 8, "note": "n"},
        )
        self.assertEqual(load_identity("alice", self.home).pins["bob"].key, "ddk1_bob")

    def test_damaged_files_are_errors_naming_the_file_not_its_contents(self) -> None:
        identity = create_identity("alice", "http://127.0.0.1:1", self.home)
        with open(identity.path, "w", encoding="utf-8") as handle:
            handle.write('{"v":1,"agentId":"alice","seed":"SECRET"}')
        with self.assertRaises(DeadDropError) as refused:
            load_identity("alice", self.home)
        self.assertEqual(refused.exception.reason, "IDENTITY_CORRUPT")
        self.assertIn(identity.path, str(refused.exception))
        self.assertNotIn("SECRET", str(refused.exception))
        with open(
            os.path.join(self.home, "agents", "alice.prekeys.json"), "w", encoding="utf-8"
        ) as handle:
            handle.write('{"v":1,"agentId":"alice","prekeys":[],"used":[]}')
        found, damaged = scan_identities(self.home)
        self.assertEqual(found, [])
        self.assertEqual(len(damaged), 1)  # the identity file; the prekey file is not one

    def test_rotation_steps_keep_every_seed(self) -> None:
        identity = create_identity("alice", "http://127.0.0.1:1", self.home, seed=bytes(32))
        with identity_lock(identity) as locked:
            locked.save_pending_seed(bytes([1] * 32))
            pending = locked.read()
            self.assertIsNotNone(pending.pending_keys)
            self.assertEqual(pending.other_keys[0].agent_key, pending.pending_keys.agent_key)
            with self.assertRaises(DeadDropError):
                locked.complete_rotation(identity.agent_key, 100, 1000)
            done = locked.complete_rotation(pending.pending_keys.agent_key, 100, 1000)
        self.assertEqual(done.agent_key, pending.pending_keys.agent_key)
        self.assertEqual([keys.agent_key for keys in done.other_keys], [identity.agent_key])
        with open(identity.path, encoding="utf-8") as handle:
            document = json.load(handle)
        self.assertNotIn("pendingSeed", document)
        self.assertEqual(document["previousSeeds"], [{"seed": "A" * 43, "retiredAt": 100}])


class StateFiles(Scratch):
    def test_round_trip_keeps_unknown_fields(self) -> None:
        os.makedirs(os.path.join(self.home, "agents"))
        path = os.path.join(self.home, "agents", "bob.state.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "v": 1,
                    "cursors": {"relay-x": "17-0"},
                    "seen": {"a" * 22: 1000},
                    "forgottenThrough": 5,
                    "recent": [{"bad": True}],
                    "deliveries": [],
                    "later": [1],
                },
                handle,
            )
        state = load_state(self.home, "bob")
        self.assertEqual(state.cursor("relay-x"), "17-0")
        self.assertEqual(state.cursor("relay-y"), "0-0")
        self.assertEqual(state.recent, {})  # a malformed list reads as empty: it loses no mail
        state.advance_cursor("relay-x", "9-0")
        self.assertEqual(state.cursor("relay-x"), "17-0")
        state.advance_cursor("relay-x", "100-0")
        save_state(self.home, "bob", state, now=2000, window_ms=10**9)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        self.assertEqual(text.count("\n"), 1)
        document = json.loads(text)
        self.assertEqual(document["later"], [1])
        self.assertEqual(document["cursors"], {"relay-x": "100-0"})
        self.assertEqual(
            list(document)[:6], ["v", "cursors", "seen", "forgottenThrough", "recent", "deliveries"]
        )

    def test_corrupt_state_is_an_error(self) -> None:
        os.makedirs(os.path.join(self.home, "agents"))
        with open(
            os.path.join(self.home, "agents", "bob.state.json"), "w", encoding="utf-8"
        ) as handle:
            handle.write('{"v":1,"cursors":{"relay":"not-an-id"}}')
        with self.assertRaises(DeadDropError):
            load_state(self.home, "bob")

    def test_replay_cache_forgets_with_a_floor(self) -> None:
        cache = ReplayCache()
        now = 10**12
        cache.remember("old", now - 10**9, now)
        cache.remember("new", now, now)
        self.assertEqual(cache.prune(now, 60_000), 1)
        self.assertNotIn("old", cache)
        self.assertEqual(cache.forgotten_through, now - 10**9)
        self.assertFalse(is_fresh(now - 10**9, now, 10**10, cache.forgotten_through))
        self.assertTrue(is_fresh(now, now, 60_000, cache.forgotten_through))
        self.assertFalse(is_fresh(now + 6 * 60_000, now, 60_000))
        for index in range(1_005):
            cache.remember(f"future-{index}", now + 10**9 + index, now)
        self.assertEqual(sum(uid.startswith("future-") for uid in cache.sent_at), 1_000)
        self.assertIn("future-0", cache)

    def test_message_ids_compare_numerically(self) -> None:
        self.assertLess(compare_message_ids("9-0", "10-0"), 0)
        self.assertLess(compare_message_ids("10-9", "10-10"), 0)
        self.assertEqual(compare_message_ids("1234567890123456-1", "1234567890123456-1"), 0)

    def test_receipts_count_only_from_the_recipient(self) -> None:
        state = MailboxState({}, ReplayCache(), {}, {}, {})
        uid = "B" * 22
        state.sent_asking_receipt(uid, "bob", "1-0", 5)
        state.receipt("mallory", [uid], 9, True)
        self.assertNotIn("deliveredAt", state.deliveries[uid])
        state.receipt("bob", [uid], 9, False)
        self.assertNotIn("deliveredAt", state.deliveries[uid])
        state.receipt("bob", [uid], 9, True)
        self.assertEqual(state.deliveries[uid]["deliveredAt"], 9)


class PrekeyFiles(Scratch):
    def test_add_use_and_corrupt_files_moved_aside(self) -> None:
        os.makedirs(os.path.join(self.home, "agents"))
        secrets = PrekeySecrets(self.home, "bob", now=lambda: 1_000)
        entry = {
            "id": "AAAAAAAAAAA",
            "key": "B" * 42 + "A",
            "secretKey": "C" * 42 + "A",
            "createdAt": 1_000,
        }
        secrets.add([entry])
        self.assertEqual(secrets.find("AAAAAAAAAAA"), entry)
        self.assertEqual(stat.S_IMODE(os.stat(secrets.path).st_mode), 0o600)
        secrets.use(["AAAAAAAAAAA"])
        self.assertIsNone(secrets.find("AAAAAAAAAAA"))
        self.assertTrue(secrets.was_used("AAAAAAAAAAA"))
        with open(secrets.path, encoding="utf-8") as handle:
            self.assertEqual(
                json.load(handle),
                {"v": 1, "agentId": "bob", "prekeys": [], "used": ["AAAAAAAAAAA"]},
            )
        with open(secrets.path, "w", encoding="utf-8") as handle:
            handle.write("not json")
        secrets.add([entry])
        self.assertTrue(os.path.exists(f"{secrets.path}.corrupt-1000"))
        self.assertEqual(secrets.list(), [entry])


class Locks(Scratch):
    def test_one_holder_at_a_time_across_threads(self) -> None:
        os.makedirs(self.home)
        path = os.path.join(self.home, "file")
        inside = []
        overlaps = []

        def work() -> None:
            for _ in range(20):
                with file_lock(path, "test"):
                    inside.append(1)
                    if len(inside) > 1:
                        overlaps.append(1)
                    time.sleep(0.001)
                    inside.pop()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(overlaps, [])
        self.assertFalse(os.path.exists(f"{path}.lock"))

    def test_token_format(self) -> None:
        os.makedirs(self.home)
        lock = os.path.join(self.home, "file.lock")
        with hold_lock_file(lock, "test"):
            with open(lock, encoding="utf-8") as handle:
                host, pid, random, namespace = handle.read().split(" ")
        self.assertEqual(host, socket.gethostname())
        self.assertEqual(int(pid), os.getpid())
        self.assertEqual(len(random), 24)
        self.assertEqual(namespace, PID_NAMESPACE)

    def test_a_held_lock_waits_then_fails(self) -> None:
        os.makedirs(self.home)
        lock = os.path.join(self.home, "file.lock")
        with open(lock, "w", encoding="utf-8") as handle:
            handle.write(f"{socket.gethostname()} {os.getpid()} abc {PID_NAMESPACE}")
        with self.assertRaises(DeadDropError) as refused:
            with hold_lock_file(lock, "other process", wait_s=0.2):
                pass
        self.assertIn("if no other process runs, delete it", str(refused.exception))

    def test_a_stale_or_orphaned_lock_is_broken(self) -> None:
        os.makedirs(self.home)
        lock = os.path.join(self.home, "file.lock")
        with open(lock, "w", encoding="utf-8") as handle:
            handle.write("elsewhere 1 abc ")
        old = time.time() - 31
        os.utime(lock, (old, old))
        with hold_lock_file(lock, "test", wait_s=1):
            pass
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        )
        with open(lock, "w", encoding="utf-8") as handle:
            handle.write(f"{socket.gethostname()} {gone.stdout.strip()} abc {PID_NAMESPACE}")
        started = time.monotonic()
        with hold_lock_file(lock, "test", wait_s=5):
            pass
        self.assertLess(time.monotonic() - started, 1)
        self.assertFalse(os.path.exists(lock))
        self.assertFalse(os.path.exists(f"{lock}.break"))


if __name__ == "__main__":
    unittest.main()
