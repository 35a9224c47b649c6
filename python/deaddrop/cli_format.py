"""What the CLI prints, as the TypeScript CLI prints it (``client/src/cli/format.ts``,
``terminal-text.ts``, ``save-file.ts``): message headers and bodies, receipts, sizes and times,
control characters from outside shown as ``\\uXXXX``, received files saved under safe names."""

from __future__ import annotations

import os
import re
from decimal import ROUND_HALF_UP, Decimal

from .errors import DeadDropError
from .jsonvalue import dumps
from .messages import PROBLEM_DESCRIPTIONS, Message, Receipt

_UNSAFE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_UNSAFE_NAME = re.compile("[\u0000-\u001f\u007f-\u009f/\\\\\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_NAME_BYTES = 255
_MAX_NUMBERED = 10_000


def printable(text: str) -> str:
    """C0 controls but tab and newline, DEL, C1 controls, line/paragraph separators and bidi
    controls shown as ``\\uXXXX``; lone surrogates too (a terminal cannot show them)."""
    text = _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return re.sub("[\ud800-\udfff]", lambda match: f"\\u{ord(match.group()):04x}", text)


def printable_line(text: str) -> str:
    """``printable`` with newlines escaped too: for stderr, one status or error per line."""
    return printable(text).replace("\n", "\\u000a")


def format_bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{_fixed1(count / 1024)} KiB"
    return f"{_fixed1(count / 1024 / 1024)} MiB"


def _fixed1(value: float) -> str:
    # Number.prototype.toFixed rounds the exact binary value half up (1.25 -> "1.3").
    return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def format_time(ms: int) -> str:
    """``new Date(ms).toISOString()``, or ``<ms> ms after 1970`` where no Date can hold it."""
    if abs(ms) > 8_640_000_000_000_000:
        return f"{ms} ms after 1970"
    days, rest = divmod(ms, 86_400_000)
    year, month, day = _civil_from_days(days)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{'+' if year > 0 else '-'}{abs(year):06d}"
    return (
        f"{year_text}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"
    )


def _civil_from_days(days: int) -> tuple[int, int, int]:
    # Howard Hinnant's days -> (year, month, day) in the proleptic Gregorian calendar.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def describe_pin_source(source: str) -> str:
    return "relay directory" if source == "directory" else "key you gave explicitly"


def _thread_fields(message: Message) -> str:
    fields: list[str] = []
    if message.content_type is not None:
        name = "" if message.filename is None else f' "{message.filename}"'
        fields.append(f"file{name} ({message.content_type})")
    if message.reply_to is not None:
        fields.append(f"reply to {message.reply_to}")
    if message.thread_id is not None and message.thread_id != message.reply_to:
        fields.append(f"thread {message.thread_id}")
    if message.group is not None:
        fields.append(f"group {message.group['id']} ({', '.join(message.group['members'])})")
    if message.receipt_requested:
        fields.append("receipt requested")
    if message.forward_secret:
        fields.append("forward secret")
    return "".join(f" · {field}" for field in fields)


def format_received(message: Message, reader: str, saved_path: str | None = None) -> list[str]:
    """Header line, body indented by two spaces, then an empty line."""
    problem = message.problem or ""
    verdict = (
        "✓ verified"
        if message.verified
        else f"✗ NOT VERIFIED ({problem}: {PROBLEM_DESCRIPTIONS.get(problem, problem)})"
    )
    if message.sender == reader and message.verified:
        pin = "your own key"
    elif message.pin_source is None:
        pin = "no pin"
    else:
        pin = f"pinned from the {describe_pin_source(message.pin_source)}"
    kind = "" if message.kind == "message" else f" [{message.kind}]"
    if message.content_type is not None:
        body = f"saved to {saved_path or '(not saved)'} ({format_bytes(len(message.data or b''))})"
    elif isinstance(message.body, str):
        body = message.body
    else:
        body = dumps(message.body, indent=2)
    header = (
        f"from {message.sender}{kind} {verdict} · key {message.fingerprint} ({pin}) · "
        f"sent {format_time(message.sent_at or 0)} · id {message.id}{_thread_fields(message)}"
    )
    return [header, "\n".join(f"  {line}" for line in body.split("\n")), ""]


def format_unreadable(message: Message) -> str:
    problem = message.problem or ""
    return f"warning: message {message.id} skipped: {problem} ({PROBLEM_DESCRIPTIONS.get(problem, problem)})"


def format_receipt(receipt: Receipt) -> list[str]:
    problem = receipt.problem or ""
    return [
        (
            f"delivered ✓ {uid} to {receipt.sender}"
            if receipt.verified
            else f"delivered? {uid} to {receipt.sender}: receipt ✗ NOT VERIFIED ({problem}: {PROBLEM_DESCRIPTIONS.get(problem, problem)})"
        )
        for uid in receipt.of
    ]


def truncate_utf8(name: str, max_bytes: int) -> str:
    """``name`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    used = 0
    end = 0
    for char in name:
        used += len(char.encode("utf-8", "surrogatepass"))
        if used > max_bytes:
            break
        end += 1
    return name[:end]


def safe_filename(name: str | None, uid: str) -> str:
    """The sender's filename as a name to save under: last path segment, control characters,
    separators and bidi controls removed, leading dots and spaces stripped, at most 255 bytes; when
    nothing is left, ``message-<uid>``."""
    last = re.split(r"[/\\]", name or "")[-1]
    cleaned = re.sub(r"^[.\s]+", "", _UNSAFE_NAME.sub("", last)).rstrip()
    # Lone surrogates cannot be a file name on a UTF-8 file system.
    cleaned = re.sub("[\ud800-\udfff]", "\ufffd", cleaned)
    safe = truncate_utf8(cleaned, MAX_NAME_BYTES)
    if safe == "":
        return truncate_utf8(
            "message-" + re.sub(r"[^\w-]", "", uid, flags=re.ASCII), MAX_NAME_BYTES
        )
    return safe


def _numbered(name: str, n: int) -> str:
    if n == 0:
        return name
    stem, extension = os.path.splitext(name)
    if stem == "" or (stem.startswith(".") and extension == ""):
        stem, extension = name, ""
    suffix = f" ({n}){extension}"
    return truncate_utf8(stem, MAX_NAME_BYTES - len(suffix.encode("utf-8"))) + suffix


def save_new_file(folder: str, name: str, data: bytes) -> str:
    """Writes ``data`` into ``folder`` under ``name`` (already safe), mode 0600, never over an
    existing file (`` (1)``, `` (2)``, … before the extension); the path written."""
    for n in range(_MAX_NUMBERED + 1):
        path = os.path.join(folder, _numbered(name, n))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path
    raise DeadDropError(
        "RELAY_ERROR", f"too many files named like {name} already exist in {folder}"
    )
