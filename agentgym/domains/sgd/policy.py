"""The policy text an agent is given: what the services are and how to behave."""
from __future__ import annotations

from agentgym.domains.sgd.schema import Service

ACTION_FORMATS = """How to act, one per turn:
- talk to the user: write a plain message (or `[answer] message`);
- call a tool: {"name": "Tool_Name", "arguments": {"slot": "value"}} or Tool_Name(slot='value')
  (several calls at once: a JSON list, or an OpenAI assistant message with tool_calls);
- end the conversation: [finish]."""


def policy_text(services: list[Service]) -> str:
    lines = [
        "You are a customer-service agent. Help the user with these services:",
        *[f"- {s.name}: {s.description}" for s in services],
        "",
        "Rules:",
        "- Ask the user for every required argument you do not know; never invent values.",
        "- Search before you offer: only offer entities a tool returned, one at a time.",
        "- Before a transactional tool (bookings, payments, reservations), read the details back and get the user's yes.",
        "- Report what the tool said, success or failure, and answer the user's questions from tool results.",
        "- When the user has nothing more, say goodbye and finish.",
        "",
        ACTION_FORMATS,
    ]
    return "\n".join(lines)
