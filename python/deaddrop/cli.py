"""``python3 -m deaddrop <command> …``: the TypeScript CLI's commands that the Python client speaks —
``init``, ``register``, ``key``, ``send`` (group sends too), ``reply``, ``receive``, ``listen``,
``receipts``, ``stats``, ``proof``, ``whoami``/``list`` —
with the same flags, the same lines and the same ``--json`` objects (docs/cli.md). Every failure is
one line on stderr: exit code 2 for a usage mistake, 1 for anything that went wrong while running.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import stat
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from . import __version__
from .agent import Agent
from .cli_format import (
    describe_pin_source,
    format_bytes,
    format_receipt,
    format_received,
    format_time,
    format_unreadable,
    printable,
    printable_line,
    safe_filename,
    save_new_file,
)
from .config import ClientEnv, read_client_env, resolve_relay_url
from .envelope import DEFAULT_FILE_CONTENT_TYPE
from .errors import DeadDropError, UsageError
from .files import exposed_file_warnings, resolve_home
from .group_send import GroupSendResult, GroupSent
from .inner import content_type_problem, filename_problem
from .jsonvalue import MAX_BODY_DEPTH, JsonError, dumps, is_json_value, parse
from .keystore import create_identity, load_identity, remove_identity, scan_identities
from .messages import Message, Receipt, SentMessage
from .relay import MAILBOX_PROCEDURES
from .state import MEMORY_LIMIT, RELAY_ID_PATTERN
from .statements import create_proof, encode_authorization

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_MESSAGE_BYTES_CEILING = 64 * 1024 * 1024

# name -> True for options that take a value.
OPTIONS: dict[str, bool] = {
    "server": True,
    "home": True,
    "help": False,
    "version": False,
    "key": True,
    "wait": True,
    "json": False,
    "keep": False,
    "strict": False,
    "ws": False,
    "secret": True,
    "file": True,
    "type": True,
    "receipt": False,
    "all": False,
    "save-dir": True,
    "no-receipts": False,
    "accept-key": False,
    "relay-id": True,
}
SHORT = {"h": "help", "v": "version"}
GLOBAL = ("server", "home", "help", "version")
VALUE_NAMES = {
    "server": "url",
    "home": "dir",
    "key": "agentKey",
    "wait": "seconds",
    "secret": "secret",
    "file": "path",
    "type": "mime",
    "save-dir": "dir",
    "relay-id": "id",
}


class CommandFailure(Exception):
    """A failure a command words itself (exit code 1)."""


@dataclass
class Io:
    out: Callable[[str], None]
    err: Callable[[str], None]
    stdin: BinaryIO
    env: Mapping[str, str]


@dataclass
class Context:
    io: Io
    env: ClientEnv
    values: dict[str, Any]
    home: str | None


@dataclass(frozen=True)
class Command:
    name: str
    synopsis: str
    summary: str
    args: tuple[str, ...]
    options: tuple[str, ...]
    run: Callable[[Context, list[str]], None]
    optional_args: tuple[str, ...] = ()
    json_body: bool = False
    help: tuple[str, ...] = field(default=())


# ---- argument parsing (node's util.parseArgs, strict: false, as the TypeScript CLI uses it) ----


@dataclass(frozen=True)
class Given:
    name: str
    raw_name: str
    value: str | None
    inline: bool | None


def split_command_line(
    argv: list[str], json_body: Callable[[str], bool]
) -> tuple[str | None, list[str], list[Given]]:
    command, positionals, options = _split(argv, dict(OPTIONS))
    if command is None or not json_body(command):
        return command, positionals, options
    return _split(argv, {**OPTIONS, "json": True})


def _split(argv: list[str], spec: dict[str, bool]) -> tuple[str | None, list[str], list[Given]]:
    positionals: list[str] = []
    options: list[Given] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            positionals.extend(argv[index:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if eq:
                options.append(Given(name, f"--{name}", value, True))
            elif spec.get(name) is True and index < len(argv):
                options.append(Given(name, arg, argv[index], False))
                index += 1
            else:
                options.append(Given(name, arg, None, None))
            continue
        if arg.startswith("-") and arg != "-":
            # A group of short options (-hv) is each of them; no short option takes a value.
            for letter in arg[1:]:
                options.append(Given(SHORT.get(letter, letter), f"-{letter}", None, None))
            continue
        positionals.append(arg)
    return (positionals[0] if positionals else None), positionals[1:], options


def read_options(given: list[Given], command: Command | None) -> dict[str, Any]:
    accepted = [*GLOBAL, *(command.options if command else ())]
    values: dict[str, Any] = {}
    for option in given:
        name = option.name
        if name not in OPTIONS:
            raise _unknown_option(option, accepted, command)
        if name == "json" and command is not None and command.json_body:
            if option.value is None or (option.inline is False and option.value.startswith("--")):
                raise UsageError(
                    f"{option.raw_name} needs a value: {option.raw_name} <value> (JSON)"
                )
            values["jsonBody"] = option.value
            continue
        if name not in accepted:
            raise UsageError(
                f"{option.raw_name} goes with a command (deaddrop <command> {option.raw_name}); see deaddrop --help"
                if command is None
                else f"{command.name} does not take {option.raw_name}; {_see_help(command)}"
            )
        if OPTIONS[name]:
            usage = f"{option.raw_name} <{VALUE_NAMES[name]}>"
            if option.value is None:
                raise UsageError(f"{option.raw_name} needs a value: {usage}")
            if (
                option.inline is False
                and len(option.value) > 1
                and option.value[0] == "-"
                and option.value[1] not in "0123456789."
            ):
                raise UsageError(
                    f'{option.raw_name} needs a value: {usage} (got the option {option.value}; a value that starts with "-" is written {option.raw_name}=<{VALUE_NAMES[name]}>)'
                )
            values[name] = option.value
        elif option.value is not None:
            raise UsageError(f"{option.raw_name} takes no value; {_see_help(command)}")
        else:
            values[name] = True
    return values


def _see_help(command: Command | None) -> str:
    return "see deaddrop --help" if command is None else f"see deaddrop {command.name} --help"


def _unknown_option(option: Given, accepted: list[str], command: Command | None) -> UsageError:
    raw = option.raw_name
    long = raw.startswith("--")
    spellings = accepted if long else [short for short, name in SHORT.items() if name in accepted]
    meant = closest_name(raw.lstrip("-"), spellings)
    suggestion = "" if meant is None else f" (did you mean {'--' if long else '-'}{meant}?)"
    positional = ' (an argument that starts with "-" goes after "--")' if raw[1:2].isdigit() else ""
    return UsageError(f"unknown option {raw}{suggestion}{positional}; {_see_help(command)}")


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus swapping two neighbours)."""
    rows: list[list[int]] = []
    for i in range(len(a) + 1):
        row = [i]
        for j in range(1, len(b) + 1):
            if i == 0:
                row.append(j)
                continue
            above = rows[i - 1]
            best = min(above[j] + 1, row[j - 1] + 1, above[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, rows[i - 2][j - 2] + 1)
            row.append(best)
        rows.append(row)
    return rows[len(a)][len(b)]


def closest_name(typed: str, candidates: list[str]) -> str | None:
    wanted = typed.lower()
    closest, distance = None, float("inf")
    for candidate in candidates:
        d = edit_distance(wanted, candidate.lower())
        if d < distance:
            closest, distance = candidate, d
    allowed = max(1, len(typed) // 3)
    return closest if distance <= allowed and distance < len(typed) else None


# ---- shared pieces -----------------------------------------------------------------------------


def _warn_exposed(context: Context, home: str, agent_ids: list[str]) -> None:
    for line in exposed_file_warnings(home, agent_ids):
        context.io.err(f"warning: {line}")


def open_agent(
    context: Context, agent_id: str, on_receipt: Callable[[Receipt], None] | None = None
) -> Agent:
    identity = load_identity(agent_id, context.home)
    _warn_exposed(context, identity.home, [agent_id])
    receipts = False if context.values.get("no-receipts") else context.env.receipts
    return Agent(
        identity,
        resolve_relay_url(context.values.get("server"), context.env.server_url, identity.relay_url),
        api_key=context.env.api_key,
        request_timeout_ms=context.env.request_timeout_ms,
        max_message_age_ms=context.env.max_message_age_ms,
        receipts=receipts,
        strict=context.values.get("strict") is True,
        on_receipt=on_receipt,
        on_warning=lambda text: context.io.err(f"DeadDropWarning: {text}"),
        on_retry=context.io.err,
    )


def _save_dir(context: Context) -> str:
    folder = os.path.abspath(context.values.get("save-dir", "."))
    if not os.path.isdir(folder):
        raise UsageError(f"--save-dir {folder} is not a folder (file messages are saved there)")
    return folder


def _entry_printer(
    context: Context, json_output: bool, reader: str, save_dir: str
) -> Callable[[Message], None]:
    def print_entry(entry: Message) -> None:
        if entry.unreadable:
            if json_output:
                context.io.out(dumps(entry.to_json()))
            else:
                context.io.err(format_unreadable(entry))
            return
        saved = None
        if entry.content_type is not None:
            saved = save_new_file(
                save_dir, safe_filename(entry.filename, entry.uid or ""), entry.data or b""
            )
        if json_output:
            context.io.out(dumps(entry.to_json(saved)))
        else:
            for line in format_received(entry, reader, saved):
                context.io.out(line)

    return print_entry


def _receipt_printer(context: Context, json_output: bool) -> Callable[[Receipt], None]:
    def print_receipt(receipt: Receipt) -> None:
        if json_output:
            context.io.out(dumps({**receipt.to_json(), "kind": "receipt"}))
        else:
            for line in format_receipt(receipt):
                context.io.out(line)

    return print_receipt


# ---- commands ----------------------------------------------------------------------------------


def run_init(context: Context, args: list[str]) -> None:
    agent_id = args[0]
    relay_url = resolve_relay_url(context.values.get("server"), context.env.server_url)
    try:
        identity = create_identity(agent_id, relay_url, context.home)
    except DeadDropError as error:
        if error.reason == "IDENTITY_EXISTS":
            _refuse_existing(context, agent_id, error)
        raise
    _warn_exposed(context, identity.home, [agent_id])
    agent = Agent(
        identity,
        relay_url,
        api_key=context.env.api_key,
        request_timeout_ms=context.env.request_timeout_ms,
        on_warning=lambda text: context.io.err(f"DeadDropWarning: {text}"),
    )
    try:
        agent.register()
    except BaseException:
        # Never used, so nothing is lost: removing it lets `init` be retried as is.
        remove_identity(identity)
        raise
    out = context.io.out
    out(f"registered {agent_id} on {relay_url}")
    out(f"agent key:   {identity.agent_key}")
    out(f"fingerprint: {identity.fingerprint}")
    out("share the agent key (or check the fingerprint) with your contacts out of band")


def _refuse_existing(context: Context, agent_id: str, exists: DeadDropError) -> None:
    agent = None
    try:
        agent = open_agent(context, agent_id)
        agent.lookup(agent_id)
    except DeadDropError as error:
        if agent is not None and error.reason == "AGENT_NOT_FOUND":
            raise CommandFailure(
                f'an identity "{agent_id}" already exists, and the relay at {agent.relay_url} does not know it (it may have lost its store): run `deaddrop register {agent_id}` to register it again'
            ) from None
    raise exists


def run_register(context: Context, args: list[str]) -> None:
    agent_id = args[0]
    agent = open_agent(context, agent_id)
    try:
        before: str | None = agent.lookup(agent_id)["agentKey"]
    except DeadDropError as error:
        if error.reason != "AGENT_NOT_FOUND":
            raise
        before = None
    try:
        agent.register()
    except DeadDropError as error:
        if error.reason != "AGENT_ID_TAKEN":
            raise
        raise CommandFailure(
            f'agent id "{agent_id}" is taken on {agent.relay_url} by another key; this identity cannot use it there (create one with another id)'
        ) from None
    context.io.out(
        f"registered {agent_id} on {agent.relay_url}"
        if before is None
        else f"{agent_id} is already registered on {agent.relay_url}"
    )
    context.io.out(f"fingerprint: {agent.fingerprint}")


def run_key(context: Context, args: list[str]) -> None:
    if len(args) == 1:
        if "json" in context.values:
            raise UsageError(
                "--json is for key rotate only; usage: deaddrop key <agent> | key rotate <agent>"
            )
        identity = load_identity(args[0], context.home)
        _warn_exposed(context, identity.home, [args[0]])
        context.io.out(identity.agent_key)
        return
    if args[0] != "rotate":
        raise UsageError(
            f'unknown key action "{args[0]}"; usage: deaddrop key <agent> | key rotate <agent>'
        )
    agent = open_agent(context, args[1])
    rotated = agent.rotate_key()
    if context.values.get("json") is True:
        context.io.out(dumps(rotated))
        return
    context.io.out(
        f"key rotated for {rotated['agentId']}: {rotated['oldFingerprint']} → {rotated['newFingerprint']}"
    )
    context.io.out(f"agent key:   {rotated['newKey']}")


def _read_stdin(context: Context, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = context.io.stdin.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            break
    return b"".join(chunks)


ONE_BODY = (
    "a message, - (text on stdin), --file <path> (--file -: bytes on stdin) or --json <value>"
)


def _body_source(context: Context, text: str | None) -> tuple[str, Any]:
    file_path = context.values.get("file")
    content_type = context.values.get("type")
    json_body = context.values.get("jsonBody")
    given = sum(source is not None for source in (text, file_path, json_body))
    if given != 1:
        raise UsageError(
            f"nothing to send: give {ONE_BODY}"
            if given == 0
            else f"give exactly one body, not {given}: {ONE_BODY}"
        )
    if content_type is not None and file_path is None:
        raise UsageError("--type goes with --file (the type of the file sent)")
    if file_path is not None:
        if file_path == "":
            raise UsageError("--file needs a path (or - for stdin)")
        if content_type is not None:
            problem = content_type_problem(content_type)
            if problem is not None:
                raise UsageError(f'--type "{content_type}": {problem}')
        return "file", file_path
    if json_body is not None:
        try:
            value = parse(json_body, MAX_BODY_DEPTH)
        except JsonError as error:
            if "deeper" in str(error):
                raise UsageError(
                    f"--json nests deeper than {MAX_BODY_DEPTH} levels; nothing sent"
                ) from None
            raise UsageError(f"--json is not valid JSON ({error}); nothing sent") from None
        if not is_json_value(value, MAX_BODY_DEPTH):
            raise UsageError("--json is not a plain JSON value; nothing sent")
        return "json", value
    if text == "":
        raise UsageError(
            "the message is empty; nothing sent (write the text to send, or - to read it from stdin)"
        )
    return ("stdin-text", None) if text == "-" else ("text", text)


def _file_body(context: Context, path: str, file_limit: int) -> tuple[bytes, str, str | None]:
    content_type = context.values.get("type")
    if path == "-":
        data = _read_stdin(context, file_limit)
        if len(data) > file_limit:
            raise _too_large_file(file_limit, "stdin holds more")
        return data, content_type or DEFAULT_FILE_CONTENT_TYPE, None
    filename = os.path.basename(path)
    problem = filename_problem(filename)
    if problem is not None:
        raise UsageError(f"--file {path}: its name cannot travel with it ({problem})")
    try:
        handle = open(path, "rb")
    except OSError as error:
        code = _errno_name(error)
        raise UsageError(f"--file {path}: cannot open it ({code})") from None
    with handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"--file {path} is not a regular file")
        if info.st_size > file_limit:
            raise _too_large_file(file_limit, f"it has {info.st_size}")
        data = handle.read(file_limit + 1)
        if len(data) > file_limit:
            raise _too_large_file(file_limit, f"it has {len(data)}")
    return data, content_type or content_type_for_file(filename), filename


def _errno_name(error: OSError) -> str:
    return errno.errorcode.get(error.errno or 0, "error")


def _too_large_file(limit: int, actual: str) -> DeadDropError:
    return DeadDropError(
        "MESSAGE_TOO_LARGE",
        f"file too large: at most {limit} bytes of file data fit in one message on this relay ({actual}); nothing sent",
    )


_CONTENT_TYPES = {
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tar": "application/x-tar",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
}


def content_type_for_file(name: str) -> str:
    """The content type for a file name, from its extension (case-insensitive)."""
    extension = os.path.splitext(name)[1].lower()
    return _CONTENT_TYPES.get(extension, DEFAULT_FILE_CONTENT_TYPE)


def run_send(context: Context, args: list[str]) -> None:
    sender, to = args[0], args[1]
    text = args[2] if len(args) > 2 else None
    kind, source = _body_source(context, text)
    recipients = to.split(",")
    group = len(recipients) > 1
    key = context.values.get("key")
    if group and key is not None:
        raise UsageError("--key pins one recipient; a group send pins each on first contact")
    agent = open_agent(context, sender)
    body, file_fields = _read_body(context, kind, source, lambda: _file_limit(agent, recipients))
    receipt = context.values.get("receipt") is True
    if group:
        print_group_sent(context, agent.send(recipients, body, receipt=receipt, **file_fields))
        return
    sent = agent.send(
        to,
        body,
        receipt=receipt,
        key=key,
        accept_key=context.values.get("accept-key") is True,
        **file_fields,
    )
    # To yourself the SDK seals to your own key: neither the directory nor a pin has a say.
    print_sent(context, sent, to == agent.agent_id and key is None)


def _file_limit(agent: Agent, recipients: list[str]) -> int:
    """Bytes of file data that fit in one message to every recipient: the smallest limit."""
    return min(agent.limits(to)["fileBytes"] for to in dict.fromkeys(recipients))


def _read_body(
    context: Context, kind: str, source: Any, file_limit: Callable[[], int]
) -> tuple[Any, dict[str, Any]]:
    """The body to send and, for a file, its ``content_type`` and ``filename``. ``file_limit`` is
    asked only for a file; text and JSON too large are refused by the SDK, in plaintext terms."""
    if kind == "file":
        data, content_type, filename = _file_body(context, source, file_limit())
        return data, {"content_type": content_type, "filename": filename}
    if kind != "stdin-text":
        return source, {}
    raw = _read_stdin(context, MAX_MESSAGE_BYTES_CEILING)
    if len(raw) > MAX_MESSAGE_BYTES_CEILING:
        raise DeadDropError(
            "MESSAGE_TOO_LARGE",
            f"message too large: stdin holds more than {MAX_MESSAGE_BYTES_CEILING} bytes, more than any relay takes; nothing sent",
        )
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            "stdin is not valid UTF-8 text; nothing sent (to send bytes as they are, use --file - [--type <mime>])"
        ) from None
    if body.startswith("\ufeff"):
        body = body[1:]
    body = body[:-2] if body.endswith("\r\n") else body[:-1] if body.endswith("\n") else body
    if body == "":
        raise UsageError("the message on stdin is empty; nothing sent")
    return body, {}


def print_group_sent(context: Context, sent: GroupSent) -> None:
    """One line per recipient (after its key line); raises, for exit 1, if any copy failed."""
    context.io.out(f"group {sent.group_id}: {', '.join(sent.members)}")
    failed: list[GroupSendResult] = []
    for result in sent.results:
        if result.sent is not None:
            print_sent(context, result.sent)
        else:
            failed.append(result)
            context.io.out(f"not sent to {result.to}: {result.error}")
    if not failed or failed[0].error is None:
        return
    count = len(sent.results) - len(failed)
    raise DeadDropError(
        failed[0].error.reason,
        f"not sent to {', '.join(r.to for r in failed)} ({len(failed)} of {len(sent.results)}); "
        + ("nothing was sent" if count == 0 else f"sent to the other {count}"),
    )


def run_reply(context: Context, args: list[str]) -> None:
    agent_id, message_id = args[0], args[1]
    text = args[2] if len(args) > 2 else None
    kind, source = _body_source(context, text)
    agent = open_agent(context, agent_id)
    target = agent.find_received(message_id)
    if target is None:
        raise CommandFailure(
            f'no message "{message_id}" among those {agent_id} received lately; reply works for the last {MEMORY_LIMIT} messages received by this agent (by the id receive and listen print, or its uid)'
        )
    reply_all = context.values.get("all") is True
    group = target.get("group")
    recipients = (
        [m for m in (group["members"] if group else [target["from"]]) if m != agent_id]
        if reply_all
        else [target["from"]]
    )
    body, file_fields = _read_body(context, kind, source, lambda: _file_limit(agent, recipients))
    receipt = context.values.get("receipt") is True
    if reply_all:
        print_group_sent(context, agent.reply_all(target, body, receipt=receipt, **file_fields))
        return
    print_sent(context, agent.reply(target, body, receipt=receipt, **file_fields))


def run_receipts(context: Context, args: list[str]) -> None:
    agent = open_agent(context, args[0])
    deliveries = agent.deliveries()
    out = context.io.out
    if context.values.get("json") is True:
        for delivery in deliveries:
            # The fields the state file's schema knows, in its order (what the TypeScript CLI prints).
            out(dumps({k: delivery[k] for k in _DELIVERY_FIELDS if k in delivery}))
        return
    if not deliveries:
        context.io.err("no messages sent with --receipt remembered")
        return
    for delivery in deliveries:
        state = (
            "waiting"
            if "deliveredAt" not in delivery
            else f"delivered ✓ at {format_time(delivery['deliveredAt'])}"
        )
        out(
            f"{delivery['uid']} to {delivery['to']} (id {delivery['id']}, sent {format_time(delivery['sentAt'])}): {state}"
        )


_DELIVERY_FIELDS = ("uid", "to", "id", "sentAt", "deliveredAt")


def print_sent(context: Context, sent: SentMessage, to_self: bool = False) -> None:
    if to_self:
        context.io.out(
            f"{sent.to}: that is you; sealed to your own key, fingerprint {sent.recipient_fingerprint}"
        )
    else:
        context.io.out(
            f"{sent.to}: key fingerprint {sent.recipient_fingerprint} ({_describe_pin(sent)})"
        )
    secrecy = (
        "forward secret: sealed to a one-time prekey"
        if sent.forward_secret
        else "not forward secret: sealed to the identity key"
    )
    context.io.out(f"sent {sent.id} to {sent.to} ({format_bytes(sent.bytes)} sealed, {secrecy})")


def _describe_pin(sent: SentMessage) -> str:
    source = describe_pin_source(sent.pin_source)
    if sent.pin_change == "new":
        return (
            f"pinned now from the {source} on first contact; compare this fingerprint with {sent.to} out of band"
            if sent.pin_source == "directory"
            else f"pinned now from the {source}"
        )
    if sent.pin_change == "replaced":
        return f"pin replaced with the {source}"
    return f"matches your pin from the {source}"


def _parse_wait(text: str | None) -> float:
    if text is None:
        return 0
    try:
        seconds = float(text.strip()) if text.strip() else float("nan")
    except ValueError:
        seconds = float("nan")
    if not 0 <= seconds <= 86_400:
        raise UsageError(f'--wait takes seconds between 0 and 86400, got "{text}"')
    return seconds


def run_receive(context: Context, args: list[str]) -> None:
    agent_id = args[0]
    wait = _parse_wait(context.values.get("wait"))
    json_output = context.values.get("json") is True
    save_dir = _save_dir(context)
    handled: list[str] = []
    print_receipt = _receipt_printer(context, json_output)

    def on_receipt(receipt: Receipt) -> None:
        print_receipt(receipt)
        handled.append(receipt.id)

    agent = open_agent(context, agent_id, on_receipt)
    print_entry = _entry_printer(context, json_output, agent_id, save_dir)
    limit = 100
    page = agent.receive(wait=wait, limit=limit)
    while True:
        for entry in page:
            print_entry(entry)
            handled.append(entry.id)
        if len(page) < limit:
            break
        page = agent.receive(limit=limit)
    agent.flush_receipts()
    if handled and context.values.get("keep") is not True:
        agent.delete(handled)
    if not handled and not json_output:
        context.io.err("no new messages")


def run_listen(context: Context, args: list[str]) -> None:
    agent_id = args[0]
    if context.values.get("ws") is True:
        raise UsageError(
            "--ws: the Python client listens over Server-Sent Events only (the plain HTTP API has no WebSocket)"
        )
    json_output = context.values.get("json") is True
    save_dir = _save_dir(context)
    keep = context.values.get("keep") is True
    print_receipt = _receipt_printer(context, json_output)
    pending: list[str] = []

    def on_receipt(receipt: Receipt) -> None:
        print_receipt(receipt)
        if not keep:
            pending.append(receipt.id)

    agent = open_agent(context, agent_id, on_receipt)
    print_entry = _entry_printer(context, json_output, agent_id, save_dir)
    stop = threading.Event()
    state = {"now": "starting", "causes": set()}
    what = f"{agent_id} on {agent.relay_url} over sse"

    def status(event: str, error: DeadDropError | None) -> None:
        causes: set[str] = state["causes"]  # type: ignore[assignment]
        if event == "connected":
            if state["now"] == "starting":
                context.io.err(f"listening as {what}; Ctrl-C to stop")
            elif state["now"] == "lost":
                context.io.err("reconnected")
            state["now"] = "connected"
            causes.clear()
            return
        cause = str(error)
        if state["now"] != "lost":
            context.io.err(f"connection lost ({cause}); reconnecting")
        elif cause not in causes:
            context.io.err(f"still reconnecting ({cause})")
        state["now"] = "lost"
        if len(causes) >= 16:
            causes.clear()
        causes.add(cause)

    def delete_pending() -> None:
        if not pending:
            return
        ids = pending[:]
        del pending[:]
        try:
            agent.delete(ids)
        except DeadDropError as error:
            # They expire with the relay's TTL anyway; listening goes on.
            context.io.err(
                f"warning: could not delete {len(ids)} message(s) from the relay: {error}"
            )

    previous = _stop_on_signals(stop)
    try:
        for entry in agent.listen(stop=stop, on_connection=status):
            print_entry(entry)
            if not keep:
                pending.append(entry.id)
                delete_pending()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        delete_pending()
        agent.flush_receipts()


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C (or SIGTERM) ends listening with exit 0; a second one exits at once (130)."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            os._exit(130)
        # The live stream closes within a moment; what was printed is saved, then exit 0.
        stop.set()

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:
            pass
    return previous


def run_proof(context: Context, args: list[str]) -> None:
    """One mailbox proof (PROTOCOL §3.4) as the value of an ``authorization`` header, for scripts:
    ``curl -H "authorization: $(python3 -m deaddrop proof alice stats)" …``."""
    agent_id, scope = args
    _check_scope(scope)
    given = context.values.get("relay-id")
    if given is not None and RELAY_ID_PATTERN.fullmatch(given) is None:
        raise UsageError(
            f'--relay-id must be 1–64 characters of [A-Za-z0-9._-] (got "{given}"); the relay\'s info shows its id'
        )
    if given is None:
        agent = open_agent(context, agent_id)
        keys, relay_id = agent.identity.keys, agent.info()["relayId"]
    else:
        identity = load_identity(agent_id, context.home)
        _warn_exposed(context, identity.home, [agent_id])
        keys, relay_id = identity.keys, given
    context.io.out(encode_authorization(create_proof(relay_id, agent_id, keys, scope)))


def _check_scope(scope: str) -> None:
    """A scope no relay procedure would accept fails here, where the mistake is."""
    if scope == "ws":
        return
    for part in scope.split(","):
        if part in MAILBOX_PROCEDURES:
            continue
        meant = closest_name(part, [*MAILBOX_PROCEDURES, "ws"])
        suggestion = "" if meant is None else f' (did you mean "{meant}"?)'
        raise UsageError(
            f'"{part}" is not a scope: a procedure that reads the mailbox ({", ".join(MAILBOX_PROCEDURES)}), several joined by "," for one batch, or ws alone{suggestion}'
        )


def run_stats(context: Context, args: list[str]) -> None:
    agent = open_agent(context, args[0])
    stats = agent.stats()
    fits = agent.limits()
    out = context.io.out
    if context.values.get("json") is True:
        out(dumps({**stats, "fits": fits}))
        return
    limits = stats["limits"]
    out(f"mailbox {stats['agentId']} on {agent.relay_url}")
    out(f"messages: {stats['count']} ({format_bytes(stats['bytes'])})")
    if stats["oldestId"] is not None and stats["newestId"] is not None:
        out(f"ids: {stats['oldestId']} … {stats['newestId']}")
    out(
        f"limits: {limits['maxMessages']} messages, {format_bytes(limits['maxMessageBytes'])} each, kept {limits['ttlSeconds']} s"
    )
    out(f"fits: {fits['fileBytes']} bytes of file data, {fits['textBytes']} of text")


def run_list(context: Context, args: list[str]) -> None:
    home = resolve_home(context.home)
    identities, damaged = scan_identities(home)
    for problem in damaged:
        context.io.err(f"warning: {problem}; skipped")
    _warn_exposed(context, home, [identity.agent_id for identity in identities])
    if not identities and damaged:
        raise DeadDropError(
            "IDENTITY_CORRUPT",
            f"no readable identity in {home}: {len(damaged)} damaged file(s), listed above",
        )
    if context.values.get("json") is True:
        for identity in identities:
            context.io.out(dumps(identity.to_json()))
        return
    if not identities:
        context.io.err(
            f"no identities in {home}; create one with: deaddrop init <agent> --server <url>"
        )
        return
    width = max(len(identity.agent_id) for identity in identities)
    for identity in identities:
        context.io.out(
            f"{identity.agent_id.ljust(width)}  {identity.fingerprint}  {identity.relay_url}"
        )


_BODY_HELP = (
    "exactly one body: <message>, - (UTF-8 text on stdin), --file <path> (--file -: bytes on stdin;",
    "  type from the extension, or --type <mime>; the name sent is the base name) or --json <value>",
    "what fits in one message is the relay limit after padding, sealing and base64: `deaddrop stats",
    "  <agent>` prints it in plaintext terms (bytes of file data, bytes of text); --receipt asks for",
    "  a delivery receipt (see deaddrop receipts)",
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "init",
        "<agent> --server <url>",
        "create an identity, register it on the relay, print its agent key and fingerprint",
        ("agent",),
        (),
        run_init,
    ),
    Command(
        "register",
        "<agent>",
        "register an existing identity on its relay again (after the relay lost its store); says whether it was registered, already registered, or taken",
        ("agent",),
        (),
        run_register,
    ),
    Command(
        "key",
        "<agent> | rotate <agent> [--json]",
        "print the agent's public key (only the key), or rotate it",
        ("agent",),
        ("json",),
        run_key,
        optional_args=("rotated",),
    ),
    Command(
        "send",
        "<from> <to>[,<to>…] [<message>|-] [--file <path> [--type <mime>]] [--json <value>] [--receipt] [--key <agentKey> [--accept-key]] [--strict]",
        "send a message (- reads text from stdin) or a file; a comma list of recipients is a group send; --key pins the recipient key explicitly (refused when the relay directory holds another, unless --accept-key)",
        ("from", "to"),
        ("key", "accept-key", "strict", "file", "type", "json", "receipt"),
        run_send,
        optional_args=("message",),
        json_body=True,
        help=_BODY_HELP,
    ),
    Command(
        "reply",
        "<agent> <message-id> [<message>|-] [--file <path> [--type <mime>]] [--json <value>] [--all] [--receipt] [--strict]",
        "answer a message received lately (the id receive and listen print, or its uid) in its thread; --all answers everyone in its group",
        ("agent", "message-id"),
        ("strict", "file", "type", "json", "receipt", "all"),
        run_reply,
        optional_args=("message",),
        json_body=True,
        help=(
            f"works for the last {MEMORY_LIMIT} messages this agent received (remembered in its state file)",
            *_BODY_HELP,
        ),
    ),
    Command(
        "receive",
        "<agent> [--wait <s>] [--json] [--keep] [--save-dir <dir>] [--no-receipts] [--strict]",
        "print new messages and delivery receipts (--json: one object per line; files are saved into --save-dir, default the current folder), then delete them unless --keep; --no-receipts sends no receipts",
        ("agent",),
        ("wait", "json", "keep", "strict", "save-dir", "no-receipts"),
        run_receive,
    ),
    Command(
        "listen",
        "<agent> [--json] [--keep] [--save-dir <dir>] [--no-receipts] [--strict]",
        "print messages and delivery receipts as they arrive until Ctrl-C (--json: one object per line; files are saved into --save-dir, default the current folder), deleting each once printed unless --keep; --no-receipts sends no receipts",
        ("agent",),
        ("json", "ws", "keep", "strict", "save-dir", "no-receipts"),
        run_listen,
    ),
    Command(
        "receipts",
        "<agent> [--json]",
        f"delivery state of the last {MEMORY_LIMIT} messages sent with --receipt (delivered ✓ or waiting), as far as this agent's receive/listen runs have seen receipts",
        ("agent",),
        ("json",),
        run_receipts,
    ),
    Command(
        "stats",
        "<agent> [--json]",
        "count and size of the messages waiting, the relay limits, and what fits in one message (bytes of file data, of text)",
        ("agent",),
        ("json",),
        run_stats,
    ),
    Command(
        "proof",
        "<agent> <scope> [--relay-id <id>]",
        "print a fresh signed mailbox proof, the value of an authorization header, for one request by a script",
        ("agent", "scope"),
        ("relay-id",),
        run_proof,
        help=(
            "The scope is what the request calls: a procedure path that reads the mailbox (stats, poll,",
            'delete, inbox, hooks.get, …), several joined by "," for one tRPC batch (stats,poll), or ws',
            "for a WebSocket. Each proof is good for one request, within the relay auth window (60 s by",
            "default). The relay id it is bound to comes from the relay's info, or --relay-id (no call).",
            'curl -H "authorization: $(deaddrop proof alice stats)" http://127.0.0.1:8000/…',
        ),
    ),
    Command(
        "whoami",
        "[--json]",
        "list the identities in DEADDROP_HOME with their fingerprints",
        (),
        ("json",),
        run_list,
    ),
    Command(
        "list",
        "[--json]",
        "list the identities in DEADDROP_HOME with their fingerprints",
        (),
        ("json",),
        run_list,
    ),
)


def _usage() -> list[str]:
    width = max(len(command.name) for command in COMMANDS)
    lines = ["usage: deaddrop <command> [options]  (python3 -m deaddrop)", "", "commands:"]
    for command in COMMANDS:
        lines.append(
            f"  {command.name.ljust(width)}  {command.synopsis}\n  {''.ljust(width)}    {command.summary}"
        )
    lines += [
        "",
        "global options:",
        "  --server <url>  relay URL (else DEADDROP_SERVER_URL, else the identity file, else http://localhost:8000)",
        "  --home <dir>    identity folder (else DEADDROP_HOME, else ~/.deaddrop)",
        "  -h, --help      show help",
        "  -v, --version   print the version",
        "",
        "environment: DEADDROP_SERVER_URL, DEADDROP_HOME, DEADDROP_API_KEY (relay access key),",
        "  DEADDROP_REQUEST_TIMEOUT (per relay call, default 30s), DEADDROP_MAX_MESSAGE_AGE (oldest",
        "  message still verified, default 7d; the relay can shorten it, never lengthen it),",
        "  DEADDROP_RECEIPTS (on or off)",
        "--strict refuses first contact without an explicit --key (no trust in the relay directory).",
    ]
    return lines


def run_cli(argv: list[str], io: Io) -> int:
    safe = Io(
        out=lambda line: io.out(printable(line)),
        err=lambda line: io.err(printable_line(line)),
        stdin=io.stdin,
        env=io.env,
    )
    try:
        command_name, positionals, options = split_command_line(
            argv, lambda name: any(c.name == name and c.json_body for c in COMMANDS)
        )
        asks_help = command_name == "help"
        command = None if asks_help or command_name is None else _find_command(command_name)
        values = read_options(options, command)
        if values.get("version") is True:
            safe.out(f"deaddrop {__version__}")
            return EXIT_OK
        if command is None:
            if values.get("help") is not True and not asks_help:
                raise UsageError("missing command; see deaddrop --help")
            for line in _usage():
                safe.out(line)
            return EXIT_OK
        if values.get("help") is True:
            safe.out(f"usage: deaddrop {command.name} {command.synopsis}")
            safe.out(f"  {command.summary}")
            for line in command.help:
                safe.out(f"  {line}")
            return EXIT_OK
        given = len(positionals)
        if given < len(command.args) or given > len(command.args) + len(command.optional_args):
            names = [f"<{name}>" for name in command.args] + [
                f"[<{name}>]" for name in command.optional_args
            ]
            raise UsageError(
                f"{command.name} takes {' '.join(names) or 'no arguments'} (got {given}); usage: deaddrop {command.name} {command.synopsis}"
            )
        env = read_client_env(io.env)
        context = Context(safe, env, values, values.get("home") or env.home)
        command.run(context, positionals)
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    except (UsageError, CommandFailure, DeadDropError) as error:
        safe.err(f"deaddrop: {_one_line(str(error))}")
        return EXIT_USAGE if isinstance(error, UsageError) else EXIT_FAILURE
    except Exception as error:  # noqa: BLE001 - every failure is one line, never a traceback
        safe.err(f"deaddrop: {_one_line(f'unexpected error: {error}')}")
        return EXIT_FAILURE


def _find_command(name: str) -> Command:
    for command in COMMANDS:
        if command.name == name:
            return command
    meant = closest_name(name, [command.name for command in COMMANDS] + ["help"])
    suggestion = "" if meant is None else f' (did you mean "{meant}"?)'
    raise UsageError(f'unknown command "{name}"{suggestion}; see deaddrop --help')


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _writer(stream: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        data = (line + "\n").encode("utf-8", "replace")
        stream.buffer.write(data)
        stream.buffer.flush()

    return write


def main(argv: list[str] | None = None) -> int:
    io = Io(
        out=_writer(sys.stdout), err=_writer(sys.stderr), stdin=sys.stdin.buffer, env=os.environ
    )
    return run_cli(sys.argv[1:] if argv is None else argv, io)
