"""What every backend is: a `Backend` fills a phase in, from the context it starts from to the
report it ends with."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from ..adr import Decision
from ..changes import Workspace
from ..phases import CANDIDATE_ROLES, Facts, Phase, redone_on_reject, span
from ..project import Project

TOKEN_KINDS = ("input", "output", "cache_write", "cache_read")
# The answers about the data (a capsule may change them), and the config key each one sets.
DATA_KEYS = {
    "data_source": "data.source",
    "target": "data.target",
    "task_type": "task",
    "primary_metric": "primary_metric",
}
FORECASTING = "forecasting"  # the task whose projects forecast a series (their own config)
# A forecasting project's answers about its series, and the config key each one sets (a tabular
# config has none of these keys, so only a forecasting project is given them).
FORECAST_KEYS = {
    "time_column": "data.time_column",
    "series_column": "data.series_column",
    "frequency": "data.frequency",
    "season": "data.season",
    "covariates": "data.known_covariates",
    "horizon": "forecast.horizon",
}
LISTED = frozenset({"covariates"})  # answers that are lists of names
COUNTED = frozenset({"season", "horizon"})  # answers that are whole numbers of steps
OPTIONAL = frozenset({"series_column"})  # answers that may be empty (no such column)


class PhaseIncomplete(RuntimeError):
    """A phase stopped by a limit (budget, turns, time) or an unavailable API; resumable."""


@dataclass
class Context:
    """What a phase starts from: the project, the answers (capsule applied), earlier facts."""

    project: Project
    answers: dict[str, Any]
    facts: Facts = field(default_factory=Facts)
    capsule: str | None = None
    rejections: list[str] = field(default_factory=list)  # reasons given at the gate
    excluded: set[str] = field(default_factory=set)  # candidates rejected at the gate
    approved: str | None = None  # the candidate approved at the gate
    workspace: Workspace | None = None  # for phases that write code: their change and tests

    @property
    def metric(self) -> str:
        return str(self.answers["primary_metric"])

    @property
    def task(self) -> str:
        return str(self.answers.get("task_type", ""))

    @property
    def forecasting(self) -> bool:
        """Whether the project forecasts a series: its phases validate walk-forward only."""
        return self.task == FORECASTING

    @property
    def candidates(self) -> dict[str, str]:
        """The three candidates a design weighs, by role, each the project's model that plays
        it (as its catalogue says)."""
        plays = {role: model for model, role in self.project.catalogue.MODELS.items()}
        return {role: plays[role] for role in CANDIDATE_ROLES}

    @property
    def exportable(self) -> tuple[str, ...]:
        """The project's models that `export` writes: the catalogue's EXPORTABLE (a tabular
        catalogue does not name it: there only the mlp exports)."""
        return tuple(getattr(self.project.catalogue, "EXPORTABLE", ("mlp",)))

    def data_answers(self) -> dict[str, Any]:
        """The data answers (a capsule may change them), by the config key each one sets: text
        for the tabular ones; a forecasting project's series answers keep their types."""
        answers = self.answers
        found: dict[str, Any] = {
            key: str(answers[name]) for name, key in DATA_KEYS.items() if name in answers
        }
        if self.forecasting:
            found |= {
                key: series_answer(name, answers[name])
                for name, key in FORECAST_KEYS.items()
                if name in answers
            }
        return found

    def overrides(self) -> list[str]:
        """The data answers as the overrides every project command the engine runs is given."""
        return [f"{key}={override_text(value)}" for key, value in self.data_answers().items()]

    def config(self) -> dict[str, Any]:
        """The project's config as its commands run it: configs/default.yaml as the user keeps
        it, with the data answers applied. The truth for everything it holds."""
        return with_keys(self.project.config(), self.data_answers())


def series_answer(name: str, value: Any) -> Any:
    """A forecasting answer as its config key holds it: covariates a list of names (a text
    answer split at commas), a season or horizon a whole number, an empty column None."""
    if name in LISTED:
        items = value.split(",") if isinstance(value, str) else list(value or [])
        return [str(item).strip() for item in items if str(item).strip()]
    if name in COUNTED:
        return int(value)
    if name in OPTIONAL and (value is None or not str(value).strip()):
        return None
    return str(value)


def override_text(value: Any) -> str:
    """A value as `key=value` overrides write it: null for None, a list as YAML flow."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return str(value)


def with_keys(raw: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of a config with dotted keys (`data.target`) set to new values."""
    changed = copy.deepcopy(raw)
    for key, value in changes.items():
        *sections, name = key.split(".")
        node = changed
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    return changed


@dataclass(kw_only=True)
class Report(Decision):
    """What a phase decided: the content of its ADR, facts for later phases, and its cost."""

    facts: object = None  # the phase's facts (its spec's dataclass), or the agents' AgentFacts
    model: str | None = None  # the LLM that wrote it (None: the offline analysts)
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_KINDS, 0))
    cost_usd: float = 0.0


class Backend(Protocol):
    """Who fills the phases in: the offline analysts, or Claude's agents."""

    name: str  # as --backend and the ADRs' ml-flow block name it

    def fill(self, spec: Phase, ctx: Context) -> Report:
        """Do one phase's work and report what it decided."""
        ...


def approval_prompt() -> str:
    """What the gate's record tells the user to do next (both backends write it)."""
    return (
        f"Approve with `ml-phases approve` (or `--option {'|'.join(CANDIDATE_ROLES)}`), or reject"
        f' with `ml-phases reject --reason "…"` to redo phases {span(redone_on_reject())}.'
    )


class BackendError(RuntimeError):
    """A backend that cannot go on until the user acts (credentials, spend limit, a package)."""
