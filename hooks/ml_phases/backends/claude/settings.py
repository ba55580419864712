"""The Claude backend's settings: model, limits and retries (light to import: no SDK here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base import BackendError
from .api import RetryPolicy

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_BUDGET_USD = 5.0


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    budget_usd: float | None = DEFAULT_BUDGET_USD  # for one `ml-phases run`
    max_turns: int = 40  # requests per agent
    phase_seconds: float = 1800.0  # wall clock per phase
    max_tokens: int = 8192  # per reply (non-streaming requests stay well under the SDK's cap)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_answers(
        cls,
        answers: dict[str, Any],
        *,
        model: str | None = None,
        budget_usd: float | None = None,
        **limits: Any,
    ) -> Settings:
        """Given values first, then the project's answers (claude_model, budget_usd)."""
        if budget_usd is None:
            answer = answers.get("budget_usd", DEFAULT_BUDGET_USD)
            try:
                budget_usd = float(answer)
            except (TypeError, ValueError):
                budget_usd = -1.0
            if not 0 < budget_usd < float("inf"):
                raise BackendError(
                    f"the budget_usd answer {answer!r} is not an amount above 0; fix it in"
                    " .copier-answers.yml or give --budget-usd"
                )
        return cls(
            model=model or str(answers.get("claude_model") or DEFAULT_MODEL),
            budget_usd=budget_usd,
            **limits,
        )
