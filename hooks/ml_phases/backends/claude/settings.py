"""The Claude backend's settings: model, limits and retries (light to import: no SDK here).

A run's settings come from three places, first found wins: the flags it was given, the
project's answers (`claude_model`, `budget_usd`), the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base import BackendError
from .api import RetryPolicy

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_BUDGET_USD = 5.0
DEFAULT_MAX_TURNS = 40
DEFAULT_PHASE_MINUTES = 30.0


@dataclass(frozen=True)
class Flags:
    """What a run was asked for (None: not given). `retry` has no command-line flag: it is
    for programs and tests."""

    model: str | None = None
    budget_usd: float | None = None
    max_turns: int | None = None
    phase_minutes: float | None = None
    retry: RetryPolicy | None = None


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    budget_usd: float | None = DEFAULT_BUDGET_USD  # for one `ml-phases run` (None: no limit)
    max_turns: int = DEFAULT_MAX_TURNS  # requests per agent
    phase_seconds: float = DEFAULT_PHASE_MINUTES * 60  # wall clock per phase
    max_tokens: int = 8192  # per reply (non-streaming requests stay well under the SDK's cap)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def resolve(cls, answers: dict[str, Any], flags: Flags) -> Settings:
        """The flags first, then the project's answers, then the defaults."""
        model, minutes = flags.model or answers.get("claude_model"), flags.phase_minutes
        chosen = {
            "model": str(model) if model else None,
            "budget_usd": flags.budget_usd if flags.budget_usd is not None else _budget(answers),
            "max_turns": flags.max_turns,
            "phase_seconds": None if minutes is None else minutes * 60,
            "retry": flags.retry,
        }
        return cls(**{name: value for name, value in chosen.items() if value is not None})


def _budget(answers: dict[str, Any]) -> float:
    """The `budget_usd` answer (the default without one); BackendError if it is no amount."""
    answer = answers.get("budget_usd", DEFAULT_BUDGET_USD)
    try:
        budget = float(answer)
    except (TypeError, ValueError):
        budget = -1.0
    if not 0 < budget < float("inf"):
        raise BackendError(
            f"the budget_usd answer {answer!r} is not an amount above 0; fix it in"
            " .copier-answers.yml or give --budget-usd"
        )
    return budget
