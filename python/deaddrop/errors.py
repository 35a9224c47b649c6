"""Typed errors: every failure a caller can meet carries a stable ``reason`` — a relay catalogue
reason (PROTOCOL §3.7) or one of the client-side reasons the TypeScript SDK uses — and a one-line
message a user can act on."""

from __future__ import annotations

CLIENT_REASONS = frozenset(
    {
        "KEY_CHANGED",
        "NOT_PINNED",
        "KEY_MISMATCH",
        "PREKEY_INVALID",
        "INVALID_AGENT_KEY",
        "INVALID_AGENT_ID",
        "IDENTITY_EXISTS",
        "IDENTITY_NOT_FOUND",
        "IDENTITY_CORRUPT",
        "INVALID_CONFIG",
        "INVALID_MESSAGE",
        "RELAY_UNREACHABLE",
        "RELAY_INVALID_RESPONSE",
        "RELAY_ERROR",
    }
)

RELAY_REASONS = frozenset(
    {
        "BAD_INPUT",
        "BAD_CIPHERTEXT",
        "WEAK_AGENT_KEY",
        "AUTH_MISSING",
        "AUTH_MALFORMED",
        "AGENT_NOT_REGISTERED",
        "AUTH_BAD_SIGNATURE",
        "AUTH_STALE",
        "AUTH_WRONG_SCOPE",
        "AUTH_REPLAYED",
        "API_KEY_INVALID",
        "REGISTER_BAD_SIGNATURE",
        "REGISTER_STALE",
        "ROTATE_BAD_SIGNATURE",
        "ROTATE_STALE",
        "ROTATE_KEY_CHANGED",
        "AGENT_ID_TAKEN",
        "AGENT_NOT_FOUND",
        "PREKEY_BAD_SIGNATURE",
        "PREKEY_WEAK_KEY",
        "PREKEY_DUPLICATE",
        "PREKEYS_FULL",
        "MESSAGE_TOO_LARGE",
        "IDEMPOTENCY_CONFLICT",
        "MAILBOX_FULL",
        "RATE_LIMITED",
        "TOO_MANY_CONNECTIONS",
        "STORE_UNAVAILABLE",
        "WEBHOOKS_OFF",
        "HOOK_URL_REFUSED",
        "UNKNOWN_PROCEDURE",
        "METHOD_NOT_ALLOWED",
        "INTERNAL",
    }
)


class DeadDropError(Exception):
    """A failure with a stable ``reason``; ``http_status`` when the relay answered one."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.http_status = http_status
        self.retry_after_ms = retry_after_ms

    def __str__(self) -> str:
        return self.message


class UsageError(Exception):
    """A mistake in how the CLI was called (exit code 2)."""


def is_reason(error: BaseException, reason: str) -> bool:
    return isinstance(error, DeadDropError) and error.reason == reason


class DeadDropWarning(UserWarning):
    """What the TypeScript SDK reports as a ``DeadDropWarning`` process warning."""
