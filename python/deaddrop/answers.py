"""What a relay's answer must be before the client uses it (the contract's output schemas, plus the
promises a schema cannot state: a poll's order and cursor, PROTOCOL §3.3). A relay is not trusted:
an answer that breaks either fails that one call and changes nothing locally."""

from __future__ import annotations

import re
from typing import Any

from .b64u import b64u_of_length
from .identity import is_agent_id, parse_agent_key
from .jsonvalue import is_integer, is_safe_timestamp
from .state import RELAY_ID_PATTERN, compare_message_ids, is_message_id
from .statements import ROTATIONS_MAX

MAX_MESSAGE_BYTES_CEILING = 64 * 1024 * 1024
_REASON = re.compile(r"[A-Z_]{1,64}")


class AnswerProblem(ValueError):
    """An answer that does not match the protocol; ``where`` names the field."""

    def __init__(self, where: str, prekey_invalid: bool = False) -> None:
        super().__init__(where)
        self.where = where
        self.prekey_invalid = prekey_invalid


def _need(condition: bool, where: str) -> None:
    if not condition:
        raise AnswerProblem(where)


def _object(value: Any, where: str) -> dict[str, Any]:
    _need(isinstance(value, dict), where)
    return value


def _count(value: Any) -> bool:
    return is_safe_timestamp(value)


def _int_in(value: Any, least: int, most: int | None = None) -> bool:
    return is_integer(value) and value >= least and (most is None or value <= most)


def check_limits(value: Any, where: str = "limits") -> dict[str, Any]:
    limits = _object(value, where)
    _need(
        _int_in(limits.get("maxMessageBytes"), 1, MAX_MESSAGE_BYTES_CEILING),
        f"{where}.maxMessageBytes",
    )
    for name in ("ttlSeconds", "maxMessages", "authWindowSeconds"):
        _need(_int_in(limits.get(name), 1, 2**53 - 1), f"{where}.{name}")
    _need(_int_in(limits.get("maxWaitMs"), 0, 2**53 - 1), f"{where}.maxWaitMs")
    if "maxBatchBytes" in limits:
        _need(
            _int_in(limits["maxBatchBytes"], 1, 100 * MAX_MESSAGE_BYTES_CEILING),
            f"{where}.maxBatchBytes",
        )
    return {name: int(value) for name, value in limits.items() if is_integer(value)}


def check_info(value: Any) -> dict[str, Any]:
    info = _object(value, "(root)")
    _need(
        isinstance(info.get("relayId"), str)
        and RELAY_ID_PATTERN.fullmatch(info["relayId"]) is not None,
        "relayId",
    )
    _need(isinstance(info.get("version"), str), "version")
    limits = check_limits(info.get("limits"))
    rate = _object(info.get("rateLimits"), "rateLimits")
    for name in (
        "requestsPerSecond",
        "requestBurst",
        "subscriptionsPerMinute",
        "mailboxMessagesPerMinute",
        "senderMessagesPerMinute",
        "registrationsPerMinute",
    ):
        _need(_int_in(rate.get(name), 0, 2**53 - 1), f"rateLimits.{name}")
    protocol = info.get("protocol")
    if protocol is not None or "protocol" in info:
        _need(
            isinstance(protocol, list)
            and len(protocol) <= 32
            and all(isinstance(item, str) and 1 <= len(item) <= 32 for item in protocol),
            "protocol",
        )
    return {**info, "limits": limits}


def check_agent_record(value: Any) -> dict[str, Any]:
    record = _object(value, "(root)")
    _need(is_agent_id(record.get("agentId")), "agentId")
    _need(isinstance(record.get("agentKey"), str), "agentKey")
    _need(is_safe_timestamp(record.get("registeredAt")), "registeredAt")
    return record


def check_directory_record(value: Any) -> dict[str, Any]:
    record = check_agent_record(value)
    rotations = record.get("rotations", [])
    _need(isinstance(rotations, list) and len(rotations) <= ROTATIONS_MAX, "rotations")
    for index, step in enumerate(rotations):
        where = f"rotations.{index}"
        _object(step, where)
        _need(parse_agent_key(step.get("oldKey")) is not None, f"{where}.oldKey")
        _need(parse_agent_key(step.get("newKey")) is not None, f"{where}.newKey")
        _need(is_safe_timestamp(step.get("ts")), f"{where}.ts")
        _need(b64u_of_length(step.get("sigOld"), 64) is not None, f"{where}.sigOld")
        _need(b64u_of_length(step.get("sigNew"), 64) is not None, f"{where}.sigNew")
    return {**record, "rotations": [{**step, "ts": int(step["ts"])} for step in rotations]}


def check_stored_message(value: Any, where: str) -> dict[str, Any]:
    stored = _object(value, where)
    _need(is_message_id(stored.get("id")), f"{where}.id")
    _need(isinstance(stored.get("ciphertext"), str), f"{where}.ciphertext")
    _need(is_safe_timestamp(stored.get("receivedAt")), f"{where}.receivedAt")
    _need(is_safe_timestamp(stored.get("expiresAt")), f"{where}.expiresAt")
    return {
        "id": stored["id"],
        "ciphertext": stored["ciphertext"],
        "receivedAt": int(stored["receivedAt"]),
        "expiresAt": int(stored["expiresAt"]),
    }


def check_poll(value: Any, after: str, limit: int) -> dict[str, Any]:
    answer = _object(value, "(root)")
    messages = answer.get("messages")
    _need(isinstance(messages, list), "messages")
    _need(is_message_id(answer.get("cursor")), "cursor")
    checked = [check_stored_message(message, f"messages.{i}") for i, message in enumerate(messages)]
    if len(checked) > limit:
        raise AnswerProblem(f"holds {len(checked)} messages where at most {limit} were asked for")
    previous = after
    for message in checked:
        if compare_message_ids(message["id"], previous) <= 0:
            raise AnswerProblem(
                f"holds message {message['id']}, not after the cursor {after}"
                if previous == after
                else f"holds messages out of order or repeated ({message['id']} after {previous})"
            )
        previous = message["id"]
    if answer["cursor"] != previous:
        raise AnswerProblem(f"moves the cursor to {answer['cursor']} instead of {previous}")
    return {"messages": checked, "cursor": answer["cursor"]}


def check_send(value: Any) -> dict[str, Any]:
    answer = _object(value, "(root)")
    _need(is_message_id(answer.get("id")), "id")
    _need(is_safe_timestamp(answer.get("receivedAt")), "receivedAt")
    _need(is_safe_timestamp(answer.get("expiresAt")), "expiresAt")
    _need(isinstance(answer.get("duplicate"), bool), "duplicate")
    return answer


def check_send_many(value: Any, recipients: list[str]) -> dict[str, Any]:
    """A ``sendMany`` answer (PROTOCOL §8): one result per item, in the items' order, each naming
    its item's recipient — else one recipient's message could be reported as stored for another."""
    answer = _object(value, "(root)")
    results = answer.get("results")
    _need(isinstance(results, list) and len(results) <= 100, "results")
    checked: list[dict[str, Any]] = []
    for index, result in enumerate(results):
        where = f"results.{index}"
        item = _object(result, where)
        _need(is_agent_id(item.get("to")), f"{where}.to")
        _need(isinstance(item.get("ok"), bool), f"{where}.ok")
        if item["ok"]:
            _need(is_message_id(item.get("id")), f"{where}.id")
            _need(is_safe_timestamp(item.get("receivedAt")), f"{where}.receivedAt")
            _need(is_safe_timestamp(item.get("expiresAt")), f"{where}.expiresAt")
            _need(isinstance(item.get("duplicate"), bool), f"{where}.duplicate")
            names = ("to", "ok", "id", "receivedAt", "expiresAt", "duplicate")
            checked.append({name: item[name] for name in names})
            continue
        for name in ("code", "reason"):
            _need(
                isinstance(item.get(name), str) and _REASON.fullmatch(item[name]) is not None,
                f"{where}.{name}",
            )
        _need(
            isinstance(item.get("message"), str) and len(item["message"]) <= 1000,
            f"{where}.message",
        )
        checked.append({k: item[k] for k in ("to", "ok", "code", "reason", "message")})
    if len(checked) != len(recipients):
        raise AnswerProblem(f"holds {len(checked)} results for {len(recipients)} recipients")
    for index, item in enumerate(checked):
        if item["to"] != recipients[index]:
            raise AnswerProblem(
                f'answers for "{item["to"]}" where recipient {index + 1} is "{recipients[index]}"'
            )
    return {"results": checked}


def check_stats(value: Any) -> dict[str, Any]:
    answer = _object(value, "(root)")
    _need(is_agent_id(answer.get("agentId")), "agentId")
    _need(_count(answer.get("count")), "count")
    _need(_count(answer.get("bytes")), "bytes")
    for name in ("oldestId", "newestId"):
        _need(answer.get(name) is None and name in answer or is_message_id(answer.get(name)), name)
    limits = check_limits(answer.get("limits"))
    if "prekeys" in answer:
        _need(_count(answer["prekeys"]), "prekeys")
    return {**answer, "limits": limits}


def check_delete(value: Any) -> dict[str, Any]:
    answer = _object(value, "(root)")
    _need(_count(answer.get("deleted")), "deleted")
    return answer


def check_publish_prekeys(value: Any) -> dict[str, Any]:
    answer = _object(value, "(root)")
    _need(_count(answer.get("stored")), "stored")
    _need(_count(answer.get("total")), "total")
    return answer


def check_claim_prekey(value: Any) -> dict[str, Any]:
    """A claim answer; a prekey the protocol cannot hold is a forged one (``prekey_invalid``)."""
    answer = _object(value, "(root)")
    _need("prekey" in answer, "prekey")
    prekey = answer["prekey"]
    if prekey is not None:
        if not (
            isinstance(prekey, dict)
            and b64u_of_length(prekey.get("id"), 8) is not None
            and b64u_of_length(prekey.get("key"), 32) is not None
            and b64u_of_length(prekey.get("sig"), 64) is not None
        ):
            raise AnswerProblem("prekey", prekey_invalid=True)
        prekey = {"id": prekey["id"], "key": prekey["key"], "sig": prekey["sig"]}
    _need(_count(answer.get("remaining")), "remaining")
    return {"prekey": prekey, "remaining": int(answer["remaining"])}


def check_error(value: Any) -> tuple[str, str, int | None] | None:
    """``(reason, message, retryAfterMs)`` of an error answer, or None when it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("error"), dict):
        return None
    error = value["error"]
    reason = error.get("reason")
    message = error.get("message")
    if (
        not isinstance(reason, str)
        or _REASON.fullmatch(reason) is None
        or not isinstance(message, str)
    ):
        return None
    retry = error.get("retryAfterMs")
    retry_after = int(retry) if _int_in(retry, 0, 2**53 - 1) else None
    return reason, message[:2000], retry_after
