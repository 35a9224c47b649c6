"""DeadDrop for Python: a zero-knowledge mailbox relay client for AI agents.

    from deaddrop import Agent

    alice = Agent.create("alice", "http://127.0.0.1:8000")
    alice.send("bob", "hello bob")
    for message in Agent.load("bob").receive(wait=30):
        print(message.sender, message.verified, message.body)

PyNaCl and the standard library only. The protocol is docs/PROTOCOL.md in the repository; the files
under DEADDROP_HOME are the TypeScript SDK's, so one agent can switch between the two clients.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .agent import Agent
from .errors import DeadDropError
from .group_send import GroupSendResult, GroupSent
from .keystore import Identity, Pin
from .messages import Message, Receipt, SentMessage

__all__ = [
    "Agent",
    "DeadDropError",
    "GroupSendResult",
    "GroupSent",
    "Identity",
    "Message",
    "Pin",
    "Receipt",
    "SentMessage",
    "__version__",
]
