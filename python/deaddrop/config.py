"""The client's settings (PROTOCOL §1, §5; docs/configuration.md): the relay URL and the
``DEADDROP_*`` variables, read and checked as the TypeScript SDK reads them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import DeadDropError

DEFAULT_RELAY_URL = "http://localhost:8000"
DEFAULT_REQUEST_TIMEOUT_MS = 30_000
DEFAULT_MAX_MESSAGE_AGE_MS = 7 * 24 * 60 * 60 * 1000
_DURATION = re.compile(r"(\d{1,12})(ms|s|m|h|d)?")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_BOUNDS = {
    "DEADDROP_MAX_MESSAGE_AGE": (60_000, 366 * 86_400_000),
    "DEADDROP_REQUEST_TIMEOUT": (100, 3_600_000),
}


def normalize_relay_url(text: str, what: str) -> str:
    """An http(s) base URL without trailing slash, credentials, query or fragment."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise DeadDropError(
            "INVALID_CONFIG", f'{what} must be an http(s) URL, got "{text}"'
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise DeadDropError("INVALID_CONFIG", f'{what} must be an http(s) URL, got "{text}"')
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise DeadDropError(
            "INVALID_CONFIG",
            f"{what} must be a plain base URL without credentials, query or fragment",
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = 80 if scheme == "http" else 443
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path}".rstrip("/")


def resolve_relay_url(
    flag: str | None = None, env: str | None = None, identity: str | None = None
) -> str:
    """``--server``, else ``DEADDROP_SERVER_URL``, else the identity file's, else the default."""
    if flag is not None:
        return normalize_relay_url(flag, "--server")
    if env is not None:
        return normalize_relay_url(env, "DEADDROP_SERVER_URL")
    if identity is not None:
        return normalize_relay_url(identity, "relayUrl")
    return DEFAULT_RELAY_URL


def parse_duration_ms(text: str) -> int | None:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_MS[match.group(2) or "s"]


def _duration_text(ms: int) -> str:
    for unit, factor in reversed(list(_UNIT_MS.items())):
        if ms >= factor and ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True)
class ClientEnv:
    home: str | None
    server_url: str | None
    api_key: str | None
    max_message_age_ms: int | None
    request_timeout_ms: int | None
    receipts: bool | None


def _non_empty(value: str | None) -> str | None:
    return None if value is None or value.strip() == "" else value.strip()


def read_client_env(env: Mapping[str, str] | None = None) -> ClientEnv:
    """Reads and validates the client's variables; an invalid one fails naming the variable."""
    env = os.environ if env is None else env
    server_url = _non_empty(env.get("DEADDROP_SERVER_URL"))
    api_key = _non_empty(env.get("DEADDROP_API_KEY"))
    if api_key is not None and re.fullmatch(r"[\x21-\x7e]+", api_key) is None:
        raise DeadDropError(
            "INVALID_CONFIG", "DEADDROP_API_KEY must be printable ASCII without spaces"
        )
    receipts_text = _non_empty(env.get("DEADDROP_RECEIPTS"))
    receipts: bool | None = None
    if receipts_text is not None:
        if receipts_text.lower() not in ("on", "off"):
            raise DeadDropError("INVALID_CONFIG", "DEADDROP_RECEIPTS must be on or off")
        receipts = receipts_text.lower() == "on"
    return ClientEnv(
        home=_non_empty(env.get("DEADDROP_HOME")),
        server_url=(
            None if server_url is None else normalize_relay_url(server_url, "DEADDROP_SERVER_URL")
        ),
        api_key=api_key,
        max_message_age_ms=_duration(env, "DEADDROP_MAX_MESSAGE_AGE"),
        request_timeout_ms=_duration(env, "DEADDROP_REQUEST_TIMEOUT"),
        receipts=receipts,
    )


def _duration(env: Mapping[str, str], name: str) -> int | None:
    text = _non_empty(env.get(name))
    if text is None:
        return None
    ms = parse_duration_ms(text)
    least, most = _BOUNDS[name]
    if ms is None or ms < least or ms > most:
        raise DeadDropError(
            "INVALID_CONFIG",
            f"{name} must be a duration between {_duration_text(least)} and {_duration_text(most)}, "
            "such as 7d, 12h, 90m, 30s or 30 (seconds)",
        )
    return ms
