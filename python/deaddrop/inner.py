"""The signed document inside an envelope (PROTOCOL §2, with the v1.1 fields of §6 and §7): what a
receiver accepts, and the one order in which a sender writes its fields."""

from __future__ import annotations

import re
from typing import Any

from .b64u import b64u_of_length, is_canonical_b64u
from .identity import is_agent_id
from .jsonvalue import MAX_BODY_DEPTH, is_json_value, is_safe_timestamp

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
CONTENT_TYPE_PATTERN = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*"
)
MAX_CONTENT_TYPE_CHARS = 127
MAX_FILENAME_BYTES = 255
GROUP_MEMBERS_MIN = 2
GROUP_MEMBERS_MAX = 100
RECEIPT_IDS_MAX = 100


def utf16_length(text: str) -> int:
    """Length as JavaScript counts it (UTF-16 code units): what the schemas' ``max`` bound."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def is_uid(value: object) -> bool:
    """A 16-byte random id as canonical b64u (an inner id, a nonce, a group id)."""
    return b64u_of_length(value, 16) is not None


def content_type_problem(value: object) -> str | None:
    if (
        isinstance(value, str)
        and utf16_length(value) <= MAX_CONTENT_TYPE_CHARS
        and CONTENT_TYPE_PATTERN.fullmatch(value) is not None
    ):
        return None
    return (
        "contentType must be a MIME type (type/subtype, optional ; parameters), "
        f"at most {MAX_CONTENT_TYPE_CHARS} characters"
    )


def filename_problem(value: object) -> str | None:
    if (
        isinstance(value, str)
        and 1 <= utf16_length(value) <= MAX_FILENAME_BYTES
        and utf8_length(value) <= MAX_FILENAME_BYTES
        and not any(char in value for char in "/\\\0")
        and value not in (".", "..")
    ):
        return None
    return (
        f"filename must be 1–{MAX_FILENAME_BYTES} UTF-8 bytes without /, \\ or NUL, and not . or .."
    )


def checked_group(value: object) -> dict[str, Any] | None:
    """``{ id, members }`` as the schema reads it (other fields dropped), or None."""
    if not isinstance(value, dict) or not is_uid(value.get("id")):
        return None
    members = value.get("members")
    if (
        not isinstance(members, list)
        or not GROUP_MEMBERS_MIN <= len(members) <= GROUP_MEMBERS_MAX
        or not all(is_agent_id(member) for member in members)
        or len(set(members)) != len(members)
    ):
        return None
    return {"id": value["id"], "members": list(members)}


def checked_receipt_body(value: object) -> dict[str, Any] | None:
    """``{ of: [uid, …] (1–100), status: "delivered" }``, other fields dropped, or None."""
    if not isinstance(value, dict) or value.get("status") != "delivered":
        return None
    of = value.get("of")
    if not isinstance(of, list) or not 1 <= len(of) <= RECEIPT_IDS_MAX:
        return None
    if not all(is_uid(uid) for uid in of):
        return None
    return {"of": list(of), "status": "delivered"}


def check_inner(document: object) -> dict[str, Any] | None:
    """The inner document as a receiver accepts it (unknown fields dropped), or None: ``bad-inner``.

    Every known field is checked, and nothing here recurses on what a sender wrote."""
    if not isinstance(document, dict):
        return None
    kind = document.get("kind")
    if kind not in ("message", "receipt"):
        return None
    v = document.get("v")
    if isinstance(v, bool) or v != 1:
        return None
    if not is_uid(document.get("id")):
        return None
    if not is_agent_id(document.get("from")) or not is_agent_id(document.get("to")):
        return None
    from_key = document.get("fromKey")
    if not isinstance(from_key, str) or utf16_length(from_key) > 91:
        return None
    if not is_safe_timestamp(document.get("sentAt")):
        return None
    inner: dict[str, Any] = {
        "v": 1,
        "id": document["id"],
        "kind": kind,
        "from": document["from"],
        "fromKey": from_key,
        "to": document["to"],
        "sentAt": int(document["sentAt"]),
    }
    if "contentType" in document:
        if content_type_problem(document["contentType"]) is not None:
            return None
        inner["contentType"] = document["contentType"]
    if "filename" in document:
        if filename_problem(document["filename"]) is not None:
            return None
        inner["filename"] = document["filename"]
    for field in ("replyTo", "threadId"):
        if field in document:
            if not is_uid(document[field]):
                return None
            inner[field] = document[field]
    if "group" in document:
        group = checked_group(document["group"])
        if group is None:
            return None
        inner["group"] = group
    if "receipt" in document:
        if document["receipt"] is not True:
            return None
        inner["receipt"] = True
    if "body" not in document:
        return None
    body = document["body"]
    if kind == "receipt":
        body = checked_receipt_body(body)
        if body is None:
            return None
    elif not is_json_value(body, MAX_BODY_DEPTH):
        return None
    inner["body"] = body
    if "filename" in inner and "contentType" not in inner:
        return None
    if "contentType" in inner and (
        not isinstance(inner["body"], str) or not is_canonical_b64u(inner["body"])
    ):
        return None
    group = inner.get("group")
    if group is not None and not (
        inner["from"] in group["members"] and inner["to"] in group["members"]
    ):
        return None
    return inner


def order_inner_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The inner document with its fields in the order every sender writes them (v, id, kind,
    from, fromKey, to, sentAt, contentType, filename, replyTo, threadId, group, body, receipt);
    unset options left out, not written as null."""
    ordered: dict[str, Any] = {
        "v": 1,
        "id": fields["id"],
        "kind": fields["kind"],
        "from": fields["from"],
        "fromKey": fields["fromKey"],
        "to": fields["to"],
        "sentAt": fields["sentAt"],
    }
    for name in ("contentType", "filename", "replyTo", "threadId"):
        if fields.get(name) is not None:
            ordered[name] = fields[name]
    group = fields.get("group")
    if group is not None:
        ordered["group"] = {"id": group["id"], "members": list(group["members"])}
    ordered["body"] = fields["body"]
    if fields.get("receipt") is True:
        ordered["receipt"] = True
    return ordered
