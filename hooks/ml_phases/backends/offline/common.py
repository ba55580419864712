"""What every offline analyst shares: the phase's context, its report, formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ...adr import Option
from ...changes import Workspace
from ...project import Project

CANDIDATES = {"baseline": "linear", "sota": "mlp", "pragmatic": "gbm"}
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "f1": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}


@dataclass
class Context:
    """What a phase starts from: the project, the answers (capsule applied), earlier facts."""

    project: Project
    answers: dict[str, Any]
    facts: dict[int, dict[str, Any]] = field(default_factory=dict)
    capsule: str | None = None
    rejections: list[str] = field(default_factory=list)  # reasons given at the gate
    excluded: set[str] = field(default_factory=set)  # candidates rejected at the gate
    approved: str | None = None  # the candidate approved at the gate
    workspace: Workspace | None = None  # for phases that write code: their change and tests

    @property
    def metric(self) -> str:
        return str(self.answers["primary_metric"])

    def overrides(self) -> list[str]:
        """The data answers (a capsule may change them) as config overrides."""
        keys = {
            "data_source": "data.source",
            "target": "data.target",
            "task_type": "task",
            "primary_metric": "primary_metric",
        }
        return [f"{key}={self.answers[name]}" for name, key in keys.items() if name in self.answers]


@dataclass
class Report:
    """What a phase decided: the content of its ADR, and facts for later phases."""

    title: str
    context: str
    drivers: list[str]
    options: list[Option]
    chosen: str
    because: str
    good: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    confirmation: str = ""
    more: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    status: str = "accepted"


def limit(name: str, value: float | None, unit: str) -> str:
    return f"{name}: {value} {unit}" if value else f"{name}: no limit"


def fmt(value: float | None, digits: int = 4) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )
