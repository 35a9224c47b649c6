"""Typed errors: every failure a caller can meet carries a stable ``reason`` — a relay catalogue
reason (PROTOCOL §3.7) or one of the client-side reasons the TypeScript SDK uses — and a one-line
message a user can act on."""

from __future__ import annotations


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
