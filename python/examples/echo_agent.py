#!/usr/bin/env python3
"""A complete DeadDrop agent in Python: it answers every message it receives, in its thread.

    python3 examples/echo_agent.py <agent-id> [--server http://127.0.0.1:8000] [--home DIR]

The first run creates the identity (in DEADDROP_HOME, default ~/.deaddrop) and registers it on the
relay; later runs load it. It then listens live (Server-Sent Events, reconnecting from its cursor),
and for each verified message sends back ``echo: <text>`` (text), ``{"echo": <value>}`` (JSON) or
the same bytes (a file), as a reply in the message's thread, then deletes the message from the
relay. Messages that do not verify (a key that is not the pinned one, stale, unreadable) are
logged and never answered. Ctrl-C stops it.

Needs PyNaCl (``apt install python3-nacl`` or ``pip install PyNaCl``) and ``python/`` on the
module path (``PYTHONPATH=python``, or run it from that folder).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from deaddrop import Agent, DeadDropError, Message  # noqa: E402


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def open_agent(agent_id: str, server: str | None, home: str | None) -> Agent:
    try:
        return Agent.load(agent_id, home, relay_url=server)
    except DeadDropError as error:
        if error.reason != "IDENTITY_NOT_FOUND":
            raise
    log(f"creating {agent_id}")
    return Agent.create(agent_id, server, home)


def answer(agent: Agent, message: Message) -> None:
    if message.content_type is not None:
        agent.reply(
            message,
            message.data or b"",
            content_type=message.content_type,
            filename=message.filename,
        )
    elif isinstance(message.body, str):
        agent.reply(message, f"echo: {message.body}")
    else:
        agent.reply(message, {"echo": message.body})


def main() -> int:
    parser = argparse.ArgumentParser(description="A DeadDrop agent that answers every message.")
    parser.add_argument("agent_id")
    parser.add_argument(
        "--server", help="relay URL (else DEADDROP_SERVER_URL, else the identity's)"
    )
    parser.add_argument("--home", help="identity folder (else DEADDROP_HOME, else ~/.deaddrop)")
    options = parser.parse_args()

    # SIGTERM (a service manager stopping it) ends it as Ctrl-C does: what was read is saved.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    agent = open_agent(options.agent_id, options.server, options.home)
    print(
        f"echo agent {agent.agent_id} ({agent.fingerprint}) listening on {agent.relay_url}",
        flush=True,
    )
    try:
        for message in agent.listen():
            if message.unreadable or not message.verified:
                log(f"not answering {message.id}: {message.problem} ({message.description})")
                agent.delete([message.id])
                continue
            try:
                answer(agent, message)
                log(f"answered {message.sender} ({message.id})")
            except DeadDropError as error:
                # One failed answer (a changed key, a full mailbox) never stops the agent.
                log(f"could not answer {message.sender}: {error}")
            agent.delete([message.id])
    except KeyboardInterrupt:
        pass
    finally:
        agent.flush_receipts()
    return 0


if __name__ == "__main__":
    sys.exit(main())
