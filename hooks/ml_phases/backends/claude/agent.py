"""One agent: a Claude conversation with tools, until it submits a valid report.

Each request carries the stable prefix (tools, role prompt, phase inputs) with a cache marker
on its last system block, and a second marker on the newest message so the conversation so far
is read from the cache on the next turn. Usage is counted after every reply, against the run's
budget; the phase's limits are checked before every request and after every tool call.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base import PhaseIncomplete
from . import report as reports
from .api import Messages
from .limits import Limits
from .pricing import Usage
from .sandbox import redact, secret_values
from .tools import SUBMIT, Toolbox

CACHE = {"type": "ephemeral"}
NUDGE = "Continue with the tools, and finish by calling submit_report."


@dataclass
class Transcript:
    """An agent's conversation as JSON lines, secrets masked before anything is written."""

    path: Path
    secrets: list[str] = field(default_factory=secret_values)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **data: Any) -> None:
        masked = _masked(data, self.secrets)
        line = json.dumps({"time": round(time.time(), 3), "event": event, **masked})
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


def _masked(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, secrets) for item in value]
    return value


@dataclass
class AgentRun:
    """What one agent did and cost; filled in as it goes, so a stopped agent is counted too."""

    name: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    turns: int = 0
    report: reports.AgentReport | None = None
    written: set[str] = field(default_factory=set)  # files it wrote with write_file
    reused: bool = False  # its report came from an earlier, interrupted attempt


def _block(block: Any) -> dict[str, Any]:
    """A reply's content block as a request parameter (text and tool use; others as given)."""
    if block.type == "text":
        return {"type": "text", "text": block.text}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return block.model_dump(exclude_none=True)


def with_cache_marker(conversation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with a cache marker on the last block of its newest message."""
    marked = copy.deepcopy(conversation)
    content = marked[-1]["content"]
    if isinstance(content, str):
        marked[-1]["content"] = content = [{"type": "text", "text": content}]
    content[-1]["cache_control"] = CACHE
    return marked


def converse(
    run: AgentRun,
    *,
    messages: Messages,
    model: str,
    max_tokens: int,
    system: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    task: str,
    toolbox: Toolbox,
    check: Callable[[Any], reports.AgentReport],
    limits: Limits,
    transcript: Transcript,
) -> reports.AgentReport:
    """Talk until the agent submits a report that `check` accepts (it raises ValueError with
    what to fix otherwise); PhaseIncomplete at the turn limit."""
    conversation: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": task}]}
    ]
    transcript.write("start", agent=run.name, model=model, system=system, task=task)
    for turn in range(1, limits.max_turns + 1):
        reply = messages.create(
            model=model,
            max_tokens=max_tokens,
            system=system,
            tools=tools,
            messages=with_cache_marker(conversation),
        )
        used = Usage.from_api(reply.usage)
        cost = used.cost(model)
        run.usage, run.cost_usd, run.turns = run.usage + used, run.cost_usd + cost, turn
        limits.budget.charge(cost)
        blocks = [_block(block) for block in reply.content] or [
            {"type": "text", "text": "(empty reply)"}  # the API refuses an empty message
        ]
        conversation.append({"role": "assistant", "content": blocks})
        transcript.write(
            "reply", turn=turn, stop=reply.stop_reason, content=blocks, usage=used.as_dict()
        )
        calls = [block for block in blocks if block["type"] == "tool_use"]
        if not calls:
            conversation.append({"role": "user", "content": [{"type": "text", "text": NUDGE}]})
            continue
        results = []
        for call in calls:
            if call["name"] == SUBMIT:
                try:
                    run.report = check(call["input"])
                    text, error = "report accepted", False
                except ValueError as exc:
                    text, error = str(exc), True
            else:
                limits.check()  # a stopped phase runs no more tools
                text, error = toolbox.call(call["name"], call["input"])
            transcript.write(
                "tool", turn=turn, name=call["name"], input=call["input"], error=error, result=text
            )
            result = {"type": "tool_result", "tool_use_id": call["id"], "content": text}
            results.append(result | ({"is_error": True} if error else {}))
        if run.report is not None:
            transcript.write("done", turns=turn, usage=run.usage.as_dict(), cost_usd=run.cost_usd)
            return run.report
        conversation.append({"role": "user", "content": results})
    reason = f"{run.name} used its {limits.max_turns} turns without submitting a report"
    limits.stop(reason)
    raise PhaseIncomplete(reason)
