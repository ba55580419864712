"""What every offline analyst shares: the phase's context, its report, formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ...adr import Decision
from ...changes import Workspace
from ...project import Project

CANDIDATES = {"baseline": "linear", "sota": "mlp", "pragmatic": "gbm"}


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


@dataclass(kw_only=True)
class Report(Decision):
    """What a phase decided: the content of its ADR, and facts for later phases."""

    facts: dict[str, Any] = field(default_factory=dict)


def limit(name: str, value: float | None, unit: str) -> str:
    return f"{name}: {value} {unit}" if value else f"{name}: no limit"


def fmt(value: float | None, digits: int = 4) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )
