"""JSON as the protocol reads and writes it (PROTOCOL §2, §6 "Hostile content").

- ``text_depth_within``: the bracket depth of a text, scanned before parsing, so a deep document is
  refused before anything is built from it.
- ``parse``: ``JSON.parse`` semantics: no NaN/Infinity, a number that parses to infinity (``1e999``)
  refused, integers beyond 2**53 become floats as in JavaScript, the last of repeated keys counts.
- ``dumps``: ``JSON.stringify`` bytes: no spaces, numbers as JavaScript prints them, lone surrogates
  escaped, integer-like object keys first (in JavaScript's property order).
- ``is_json_value``: plain JSON nesting at most a given depth, checked without recursion.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_BODY_DEPTH = 64
"""``"x"`` is depth 0, ``[]`` and ``{}`` are 1, ``[[1]]`` is 2 (PROTOCOL §6)."""

_SAFE_INTEGER = 2**53 - 1
_SPECIAL = re.compile(r'[\\"\[\]{}]')


class JsonError(ValueError):
    """Text that is not JSON as the protocol reads it."""


def text_depth_within(text: str, max_depth: int) -> bool:
    """Whether ``[`` and ``{`` nest at most ``max_depth`` deep, brackets inside strings not counted."""
    depth = 0
    in_string = False
    skip_to = -1
    for match in _SPECIAL.finditer(text):
        at = match.start()
        if at < skip_to:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _reject_constant(name: str) -> Any:
    raise JsonError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError("a number too large for a double")
    return value


def _js_int(text: str) -> int | float:
    value = int(text)
    if -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
        return value
    # JavaScript holds every number as a double: a larger integer is its nearest double.
    try:
        return float(value)
    except OverflowError as error:
        raise JsonError("a number too large for a double") from error


def parse(text: str, max_depth: int) -> Any:
    """The value of JSON ``text`` nesting at most ``max_depth`` deep; JsonError for anything else."""
    if not text_depth_within(text, max_depth):
        raise JsonError(f"JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_js_int,
        )
    except JsonError:
        raise
    except (ValueError, RecursionError, OverflowError) as error:
        raise JsonError(str(error)) from None


def is_integer(value: object) -> bool:
    """A JSON number that is a whole number (JavaScript has no separate integers: 1.0 is 1)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def is_safe_timestamp(value: object) -> bool:
    """An integer in 0..2**53-1 (``Ms``)."""
    return is_integer(value) and 0 <= value <= _SAFE_INTEGER  # type: ignore[operator]


def is_json_value(value: object, max_depth: int = MAX_BODY_DEPTH) -> bool:
    """Plain JSON (str, finite numbers, bool, None, lists, dicts with str keys) nesting at most
    ``max_depth`` deep. Iterative, so neither depth nor a cycle can exhaust the stack."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if item is None or isinstance(item, (str, bool)):
            continue
        if isinstance(item, int):
            try:
                float(item)
            except OverflowError:
                return False
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
            continue
        if isinstance(item, (list, tuple)):
            if depth >= max_depth:
                return False
            pending.extend((child, depth + 1) for child in item)
            continue
        if isinstance(item, dict):
            if depth >= max_depth:
                return False
            for key, child in item.items():
                if not isinstance(key, str):
                    return False
                pending.append((child, depth + 1))
            continue
        return False
    return True


def _number(value: int | float) -> str:
    if isinstance(value, int) and -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        return "null"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    text = repr(abs(number))
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent -= len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = exponent + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mark = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{head}e{mark}{abs(e)}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _is_array_index(key: str) -> bool:
    return (key == "0" or (key[:1] in "123456789" and key.isdigit() and key.isascii())) and int(
        key
    ) < 2**32 - 1


def _ordered_items(value: dict[str, Any]) -> list[tuple[str, Any]]:
    items = list(value.items())
    indexed = [item for item in items if _is_array_index(item[0])]
    if not indexed:
        return items
    indexed.sort(key=lambda item: int(item[0]))
    return indexed + [item for item in items if not _is_array_index(item[0])]


def dumps(value: Any, indent: int | None = None) -> str:
    """``JSON.stringify(value)`` (or ``JSON.stringify(value, null, indent)``)."""
    parts: list[str] = []
    _write(value, parts, indent, 0)
    return "".join(parts)


def _write(value: Any, parts: list[str], indent: int | None, level: int) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, (int, float)):
        parts.append(_number(value))
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _newline(parts, indent, level + 1)
            _write(item, parts, indent, level + 1)
        _newline(parts, indent, level)
        parts.append("]")
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        parts.append("{")
        for index, (key, item) in enumerate(_ordered_items(value)):
            if index:
                parts.append(",")
            _newline(parts, indent, level + 1)
            parts.append(_string(key))
            parts.append(": " if indent else ":")
            _write(item, parts, indent, level + 1)
        _newline(parts, indent, level)
        parts.append("}")
    else:
        raise TypeError(f"not JSON: {type(value).__name__}")


def _newline(parts: list[str], indent: int | None, level: int) -> None:
    if indent:
        parts.append("\n" + " " * (indent * level))
