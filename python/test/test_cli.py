"""The command line's pieces: arguments read as node's parseArgs reads them, the TypeScript CLI's
renderings (times, sizes, escaped control characters), and received files saved under safe names
without overwriting. (Both CLIs are compared end to end in python-cli-parity.test.ts.)"""

from __future__ import annotations

import io
import os
import tempfile
import unittest

from deaddrop.cli import COMMANDS, Io, closest_name, read_options, run_cli, split_command_line
from deaddrop.cli_format import (
    format_bytes,
    format_time,
    printable,
    printable_line,
    safe_filename,
    save_new_file,
)
from deaddrop.errors import UsageError


def run(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out: list[str] = []
    err: list[str] = []
    code = run_cli(list(argv), Io(out.append, err.append, io.BytesIO(stdin), {}))
    return code, "\n".join(out), "\n".join(err)


def command(name: str):
    return next(c for c in COMMANDS if c.name == name)


class Arguments(unittest.TestCase):
    def test_split_as_parse_args(self) -> None:
        name, positionals, options = split_command_line(
            ["send", "a", "b", "--json", "-5", "--", "--not-an-option"], lambda n: n == "send"
        )
        self.assertEqual((name, positionals), ("send", ["a", "b", "--not-an-option"]))
        self.assertEqual(read_options(options, command("send")), {"jsonBody": "-5"})
        _, _, options = split_command_line(["receive", "a", "--wait=5", "-hv"], lambda n: False)
        self.assertEqual(
            read_options(options, command("receive")), {"wait": "5", "help": True, "version": True}
        )

    def test_usage_mistakes(self) -> None:
        cases = {
            ("receive", "a", "--wait"): "--wait needs a value: --wait <seconds>",
            (
                "receive",
                "a",
                "--wait",
                "--json",
            ): 'a value that starts with "-" is written --wait=<seconds>',
            ("receive", "a", "--keep=1"): "--keep takes no value",
            ("receive", "a", "--file", "x"): "receive does not take --file",
            ("recieve",): 'unknown command "recieve" (did you mean "receive"?)',
            ("send", "a", "b", "x", "--file", "y"): "give exactly one body, not 2",
            ("listen", "a", "--ws"): "Server-Sent Events only",
            ("send", "a", "b,c", "hi", "--key", "k"): "--key pins one recipient",
            ("reply", "a", "1-0", "--all", "--keep"): "reply does not take --keep",
        }
        for argv, expected in cases.items():
            with self.subTest(argv=argv):
                code, out, err = run(*argv)
                self.assertEqual(code, 2, err)
                self.assertIn(expected, err)
                self.assertTrue(err.startswith("deaddrop: "))
                self.assertEqual(out, "")

    def test_help_and_version(self) -> None:
        self.assertEqual(run("--version"), (0, "deaddrop 0.1.0", ""))
        code, out, _ = run("send", "--help")
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith("usage: deaddrop send <from> <to>"))
        with self.assertRaises(UsageError):
            read_options(split_command_line(["--bogus"], lambda n: False)[2], None)

    def test_closest_name(self) -> None:
        self.assertEqual(closest_name("recieve", ["receive", "send"]), "receive")
        self.assertIsNone(closest_name("x", ["h"]))
        self.assertIsNone(closest_name("banana", ["receive"]))


class Renderings(unittest.TestCase):
    def test_times_as_to_iso_string(self) -> None:
        self.assertEqual(format_time(1795651068463), "2026-11-25T23:57:48.463Z")
        self.assertEqual(format_time(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(format_time(8_640_000_000_000_000), "+275760-09-13T00:00:00.000Z")
        self.assertEqual(format_time(9_007_199_254_740_991), "9007199254740991 ms after 1970")

    def test_sizes_as_to_fixed(self) -> None:
        self.assertEqual(format_bytes(401), "401 B")
        self.assertEqual(format_bytes(1280), "1.3 KiB")  # 1.25 rounds up, as toFixed does
        self.assertEqual(format_bytes(3 * 1024 * 1024), "3.0 MiB")

    def test_control_characters_escaped(self) -> None:
        self.assertEqual(
            printable("a\x1b[31mb\tc\nd\u202e\x7f"), "a\\u001b[31mb\tc\nd\\u202e\\u007f"
        )
        self.assertEqual(printable_line("one\ntwo"), "one\\u000atwo")


class SavedFiles(unittest.TestCase):
    def test_safe_names_never_overwrite(self) -> None:
        self.assertEqual(safe_filename("../../etc/passwd", "u"), "passwd")
        self.assertEqual(safe_filename("\x1b[31m.evil\x07", "u"), "[31m.evil")
        self.assertEqual(safe_filename("...", "AAAA-_bb"), "message-AAAA-_bb")
        self.assertEqual(safe_filename(None, "x"), "message-x")
        self.assertEqual(len(safe_filename("é" * 300, "x").encode()), 254)
        with tempfile.TemporaryDirectory() as folder:
            paths = [save_new_file(folder, "report.pdf", b"%d" % n) for n in range(3)]
            self.assertEqual(
                [os.path.basename(path) for path in paths],
                ["report.pdf", "report (1).pdf", "report (2).pdf"],
            )
            self.assertEqual(os.stat(paths[0]).st_mode & 0o777, 0o600)
            with open(paths[0], "rb") as handle:
                self.assertEqual(handle.read(), b"0")


if __name__ == "__main__":
    unittest.main()
