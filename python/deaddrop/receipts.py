"""The receipts this client owes (PROTOCOL §7): for each verified message that asked for one and was
handed to the application, one receipt per sender per poll (or per second of live delivery), at
most 100 ids each. A receipt that cannot be sent is reported, never raised into the read that
owed it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import DeadDropError
from .messages import Message

RECEIPT_IDS_MAX = 100
_LIVE_DELAY_S = 1.0


def owes_receipt(message: Message) -> bool:
    return (
        not message.unreadable
        and message.kind == "message"
        and message.verified
        and message.receipt_requested
        and message.sender is not None
        and message.uid is not None
    )


class ReceiptSender:
    def __init__(self, send: Callable[[str, list[str]], None], warn: Callable[[str], None]) -> None:
        self._send = send
        self._warn = warn
        self._owed: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def owe(self, messages: list[Message]) -> None:
        """Notes what ``messages`` owe: nothing for unverified mail, receipts, or no request."""
        with self._lock:
            for message in messages:
                if owes_receipt(message):
                    assert message.sender is not None and message.uid is not None
                    self._owed.setdefault(message.sender, []).append(message.uid)

    def send_soon(self) -> None:
        """Sends what is owed within a second, gathering what comes meanwhile (live delivery)."""
        with self._lock:
            if self._timer is not None or not self._owed:
                return
            timer = threading.Timer(_LIVE_DELAY_S, self.flush)
            # Receipts owed are no reason for a process to stay up.
            timer.daemon = True
            self._timer = timer
            timer.start()

    def flush(self) -> None:
        """Sends every receipt owed now: one per sender, split at 100 ids."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            owed, self._owed = self._owed, {}
        for to, uids in owed.items():
            for start in range(0, len(uids), RECEIPT_IDS_MAX):
                try:
                    self._send(to, uids[start : start + RECEIPT_IDS_MAX])
                except (DeadDropError, OSError) as error:
                    self._warn(f'could not send a delivery receipt to "{to}": {error}')

    def abandon(self) -> None:
        """Drops what is owed (the client is closing)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._owed.clear()
