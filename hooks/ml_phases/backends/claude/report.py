"""An agent's final report: its JSON schema (the submit_report tool), its checks, and how the
reports of a phase's agents become one ADR.

The schema is generated from the pydantic model that validates it, so the two cannot drift. A
report that fails validation goes back to the agent as a tool error naming each problem.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...adr import Option
from ...phases import MODEL_ARCHITECTURE, AgentFacts, Phase
from ...review import THRESHOLD
from ..base import Report


class OptionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, description="short name of the option")
    summary: str = Field(default="", max_length=2000)
    pros: list[str] = Field(default_factory=list, max_length=20, description="each a clause")
    cons: list[str] = Field(default_factory=list, max_length=20, description="each a clause")


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str = Field(min_length=1, max_length=300, description="path relative to the project")
    line: int = Field(ge=1)
    confidence: int = Field(ge=0, le=100, description="how sure, 0-100; >= 80 is reported")
    message: str = Field(min_length=1, max_length=500)


class AgentReport(BaseModel):
    """What an agent decided: the MADR fields of its phase's record, and review findings."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=3, max_length=120, description="the decision, in a phrase")
    context: str = Field(
        min_length=1, max_length=8000, description="problem and evidence, with measured numbers"
    )
    drivers: list[str] = Field(min_length=1, max_length=20)
    options: list[OptionReport] = Field(min_length=1, max_length=10)
    chosen: str = Field(description="the name of one of the options")
    because: str = Field(min_length=1, max_length=4000, description="why that option")
    good: list[str] = Field(default_factory=list, max_length=40, description="consequences")
    bad: list[str] = Field(default_factory=list, max_length=40, description="consequences")
    confirmation: str = Field(default="", max_length=4000, description="how it is checked")
    findings: list[Finding] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _chosen_is_an_option(self) -> AgentReport:
        names = [option.name for option in self.options]
        if self.chosen not in names:
            raise ValueError(f"chosen '{self.chosen}' is not among the options {names}")
        if len(set(names)) != len(names):
            raise ValueError("two options have the same name")
        return self


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """The schema with every $ref replaced by its definition (some clients refuse $ref)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {k: _inline(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema


def schema() -> dict[str, Any]:
    raw = AgentReport.model_json_schema()
    return _inline(raw, raw.get("$defs", {}))


def validate(
    raw: Any, spec: Phase, candidates: dict[str, str], excluded: frozenset[str] = frozenset()
) -> AgentReport:
    """The report, or ValueError with every problem on its own line (for the agent to fix).

    `candidates`: the project's model for each role; `excluded`: the roles rejected at the gate.
    """
    try:
        report = AgentReport.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(map(str, error['loc'])) or 'report'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ValueError("the report is not valid:\n" + "\n".join(problems)) from None
    if spec is MODEL_ARCHITECTURE:  # its options are the candidates
        names = {option.name for option in report.options}
        if not names <= set(candidates):
            raise ValueError(
                f"phase {spec.number} options must be named {', '.join(candidates)} (the"
                f" project implements {', '.join(candidates.values())}); got {sorted(names)}"
            )
        if report.chosen in excluded:
            raise ValueError(f"the user rejected {report.chosen} at the gate; choose another")
    return report


def _union(lists: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(item.strip() for items in lists for item in items if item.strip()))


def merge(reports: list[tuple[str, AgentReport]]) -> Report:
    """One ADR from the reports of a phase's agents (each named by role and focus).

    The chosen option is the one most agents chose (ties: the earliest agent's); options are
    merged by name; lists are joined without repeats; findings are listed when confident.
    """
    first = reports[0][1]
    votes = Counter(report.chosen for _, report in reports)
    chosen = max(votes, key=lambda name: (votes[name], -_first_vote(reports, name)))
    backing = [(who, report) for who, report in reports if report.chosen == chosen]
    options: dict[str, Option] = {}
    for _, report in reports:
        for item in report.options:
            option = options.setdefault(item.name, Option(item.name, item.summary))
            option.summary = option.summary or item.summary
            option.pros = _union([option.pros, item.pros])
            option.cons = _union([option.cons, item.cons])
    several = len(reports) > 1
    findings = [finding for _, report in reports for finding in report.findings]
    return Report(
        title=backing[0][1].title if several else first.title,
        context="\n\n".join(
            f"**{who}**: {report.context.strip()}" if several else report.context.strip()
            for who, report in reports
        ),
        drivers=_union([report.drivers for _, report in reports]),
        options=list(options.values()),
        chosen=chosen,
        because=" ".join(
            (f"{who}: " if several else "") + report.because.strip() for who, report in backing
        ),
        good=_union([report.good for _, report in reports]),
        bad=_union([report.bad for _, report in reports]),
        confirmation=" ".join(_union([[report.confirmation] for _, report in reports])),
        more=describe_findings(findings),
        facts=AgentFacts(
            chosen=chosen,
            findings=[f.model_dump() for f in findings if f.confidence >= THRESHOLD],
        ),
    )


def _first_vote(reports: list[tuple[str, AgentReport]], name: str) -> int:
    return next(index for index, (_, report) in enumerate(reports) if report.chosen == name)


def describe_findings(findings: list[Finding]) -> str:
    if not findings:
        return ""
    shown = sorted(
        (f for f in findings if f.confidence >= THRESHOLD), key=lambda f: (f.file, f.line)
    )
    lines = [f"* {f.file}:{f.line} ({f.confidence}): {f.message}" for f in shown]
    below = len(findings) - len(shown)
    return (
        f"Findings with confidence >= {THRESHOLD}:\n\n"
        + ("\n".join(lines) or "* none")
        + f"\n\n{below} finding(s) below {THRESHOLD} are not reported."
    )
