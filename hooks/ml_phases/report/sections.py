"""The report's sections, built from the evidence: for each, a chart spec, a table and notes.

Every figure becomes a `Cell` that links to the ADR it comes from, so "every number links to its
record" holds by construction. A section whose phase has not run, or that the Claude agents did
(their figures are in the record's prose), says so and links the record instead.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from ..phases import (
    DESIGN_APPROVAL,
    FIXES_AND_VERIFICATION,
    INTEGRATION,
    MODEL_ARCHITECTURE,
    MODEL_IMPLEMENTATION,
    PHASES,
    QUALITY_REVIEW,
    RISK_ASSESSMENT,
    SUMMARY,
    Phase,
)
from ..review import THRESHOLD
from . import charts
from .evidence import Evidence, Source

# What odd figures in facts.json (a hand edit, an older tool's output) raise while a section reads
# them: they cost that section, not the page.
ODD = (KeyError, IndexError, TypeError, ValueError, AttributeError)
TOP_FEATURES = 12  # the drift chart's features, as monitor orders them: the worst first


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None  # the ADR the figure comes from
    kind: str = ""  # a CSS class: num, status-done, …


@dataclass
class Section:
    key: str  # the anchor and the chart's element id
    title: str
    phase: Phase | None  # the phase whose facts it shows (None: all of them)
    source: Source | None
    missing: str = ""  # why there is nothing to show yet
    notes: list[list[Cell]] = field(default_factory=list)  # sentences made of cells
    chart: dict[str, Any] | None = None
    header: tuple[str, ...] = ()
    rows: list[list[Cell]] = field(default_factory=list)


def num(value: float | int | None, source: Source | None, digits: int = 4) -> Cell:
    """A figure as text with `digits` significant digits, linked to its record."""
    if value is None:
        return Cell("-")
    text = f"{value:,}" if isinstance(value, int) else f"{value:.{digits}g}"
    return Cell(text, source.href if source else None, "num")


def words(text: str) -> Cell:
    return Cell(text)


def _section(evidence: Evidence, key: str) -> tuple[Section, Any]:
    """A section and its phase's facts; the section says why when there are none."""
    title, spec, _ = SECTIONS[key]
    source = evidence.sources.get(spec.number)
    section = Section(key, title, spec, source)
    found = evidence.measured(spec)
    unreadable = evidence.records.get(spec.number)
    if isinstance(unreadable, str):
        section.missing = f"Phase {spec.number}'s record cannot be read: {unreadable}."
    elif found is None:
        if evidence.by_agents(spec) and source:
            section.missing = (
                f"Phase {spec.number} ({spec.name}) was done by the Claude agents: its figures"
                " are in the record's text."
            )
        else:
            section.missing = f"Phase {spec.number} ({spec.name}) has not run yet."
    return section, found


def timeline(evidence: Evidence) -> Section:
    section = Section("timeline", SECTIONS["timeline"][0], None, None)
    bars, start, total_cost = [], 0.0, 0.0  # start: the phase time so far
    for spec in PHASES:
        status = evidence.state.phases[spec.number]
        source = evidence.sources.get(spec.number)
        record = evidence.record(spec)
        flow = record.flow if record else {}
        seconds, cost = _number(flow.get("seconds")), _number(flow.get("cost_usd"))
        counts = flow.get("tokens")
        tokens = (
            sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, dict) else 0
        )
        decided = ", ".join(dict.fromkeys(record.decision_makers)) if record else ""
        by = f"{flow.get('backend', '')}" + (f" ({flow['model']})" if flow.get("model") else "")
        link = source.href if source else None
        section.rows.append(
            [
                Cell(str(spec.number), link, "num"),
                Cell(spec.name, link),
                words(spec.meta),
                Cell(status.status.replace("_", " "), None, f"status status-{status.status}"),
                Cell(record.chosen if record else (status.note or ""), link),
                words(f"{decided}; {by}" if record else ""),
                num(seconds, source, 3),
                num(cost, source, 3),
                num(tokens if record else None, source),
            ]
        )
        if seconds is not None:
            bars.append(
                {
                    "phase": f"{spec.number}. {spec.name}",
                    "status": status.status,
                    "start": start,
                    "end": start + seconds,
                    "seconds": seconds,
                    "cost_usd": cost or 0.0,
                    "decided": f"{decided}; {by}",
                    "href": link,
                }
            )
            start += seconds
            total_cost += cost or 0.0
    section.header = (
        "#", "phase", "meta-phase", "status", "decision", "decided by", "seconds", "cost USD",
        "tokens",
    )  # fmt: skip
    done = sum(s.status == "done" for s in evidence.state.phases.values())
    section.notes.append(
        [
            words(f"{done} of {len(PHASES)} phases done; phase time"),
            Cell(f"{start:.1f} s", evidence.index, "num"),
            words("and"),
            Cell(f"${total_cost:.4f}", evidence.index, "num"),
            words("spent on agents, summed over the records (click a bar or a row for one)."),
        ]
    )
    section.chart = charts.timeline(bars) if bars else None
    return section


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _roles(evidence: Evidence) -> dict[str, str]:
    """The model each candidate role stands for, from phase 4's options ('linear: …')."""
    record = evidence.record(MODEL_ARCHITECTURE)
    if record is None:
        return {}
    return {o.summary.split(":")[0].strip(): o.name for o in record.options if ":" in o.summary}


def _chosen_model(evidence: Evidence, trained: Any, recommended: str, roles: dict[str, str]) -> str:
    """The model the project goes on with: the one phase 7 configured (`trained`, its facts),
    else the candidate the user approved at the gate, else the one phase 4 recommends."""
    if trained is not None:
        return trained.model
    approved = evidence.state.approval.option
    by_role = {role: model for model, role in roles.items()}
    return by_role.get(approved, recommended) if approved else recommended


def bakeoff(evidence: Evidence) -> Section:
    section, found = _section(evidence, "bakeoff")
    if found is None:
        return section
    source, result = section.source, found.bakeoff
    roles = _roles(evidence)
    trained = evidence.measured(MODEL_IMPLEMENTATION)
    chosen = _chosen_model(evidence, trained, found.model, roles)
    metric = result["metric"]
    rows, folds = [], []
    for entry in result["results"]:
        model = entry["model"]
        name = f"{model} ({roles[model]})" if model in roles else model
        scores = entry.get("folds") or []
        worst = (min if result.get("higher_is_better", True) else max)(scores, default=None)
        rows.append(
            {
                "candidate": name,
                "mean": entry["mean"],
                "std": entry["std"],
                "low": entry["mean"] - entry["std"],
                "high": entry["mean"] + entry["std"],
                "marked": "chosen" if model == chosen else "candidate",
                "href": source.href,
            }
        )
        folds += [{"candidate": name, "score": score} for score in scores]
        section.rows.append(
            [
                Cell(name, None, "chosen" if model == chosen else ""),
                num(entry["mean"], source),
                num(entry["std"], source, 2),
                num(worst, source),
                num(entry.get("fit_seconds"), source, 2),
                num(entry.get("latency_ms_single_row"), source, 3),
                num(entry.get("size_kb"), source, 3),
            ]
        )
    section.header = (
        "candidate",
        f"mean {metric}",
        "std",
        "worst fold",
        "fit s",
        "ms per row",
        "size KB",
    )
    section.chart = charts.bakeoff(rows, folds, metric)
    record = evidence.record(MODEL_ARCHITECTURE)
    direction = "higher" if result.get("higher_is_better", True) else "lower"
    section.notes.append(
        [
            words(
                f"{result['folds']}-fold cross-validation on"
                if "folds" in result
                else "Cross-validation on"
            ),
            num(result.get("rows"), source),
            words(f"rows; {metric}, {direction} is better. The rule:"),
            Cell(f'"{found.chosen}", because {record.because}' if record else "", source.href),
        ]
    )
    reference = result.get("baseline") or result.get("reference")
    if reference:
        section.notes.append(
            [
                words(f"Reference {reference['model']} scores"),
                num(reference["mean"], source),
                words("on the same folds."),
            ]
        )
    gate_record = evidence.record(DESIGN_APPROVAL)
    if trained and trained.model != found.model and gate_record:
        section.notes.append(
            [
                words("At the design approval the user chose"),
                Cell(gate_record.chosen, evidence.sources[DESIGN_APPROVAL.number].href),
                words(f"instead: {trained.model} is trained."),
            ]
        )
    return section


def held_out(evidence: Evidence) -> Section:
    section, found = _section(evidence, "held-out")
    if found is None:
        return section
    source, evaluation = section.source, found.evaluation
    rows = []
    for name, metric in evaluation["metrics"].items():
        rows.append({"metric": name, **_figures(metric), "href": source.href})
        section.rows.append(
            [
                Cell(name, None, "chosen" if name == evaluation["primary_metric"] else ""),
                num(metric["value"], source),
                _interval(metric["low"], metric["high"], source),
                num(metric["baseline"], source),
                num(metric.get("delta"), source),
                _interval(metric.get("delta_low"), metric.get("delta_high"), source),
            ]
        )
    confidence = f"{evaluation.get('confidence', 0.95):.0%}"
    section.header = (
        "metric", "model", f"{confidence} interval", "baseline", "difference",
        f"{confidence} interval of the difference",
    )  # fmt: skip
    section.chart = charts.held_out(rows)
    baseline = evaluation.get("baseline_model", "dummy")
    verdict = "beats" if evaluation["beats_baseline"] else "does not clearly beat"
    resamples = evaluation.get("bootstrap")
    section.notes.append(
        [
            words(f"The {evaluation['model']} model {verdict} the {baseline} baseline on"),
            num(evaluation["rows"], source),
            words(
                f"held-out {evaluation.get('split', 'test')} rows"
                + ("; intervals from" if resamples else ".")
            ),
            *([num(resamples, source), words("bootstrap resamples.")] if resamples else []),
        ]
    )
    coverage = evaluation.get("coverage")
    if coverage:
        section.notes.append(
            [
                words(f"Prediction intervals at {coverage['level']:.0%} cover"),
                num(coverage["value"], source, 3),
                words("of the actual values"),
                _interval(coverage["low"], coverage["high"], source),
            ]
        )
    if found.tests:
        section.notes.append([words("Tests:"), Cell(found.tests, source.href)])
    return section


def _figures(metric: dict[str, Any]) -> dict[str, float]:
    return {key: metric[key] for key in ("value", "low", "high", "baseline")}


def _interval(low: float | None, high: float | None, source: Source | None) -> Cell:
    if low is None or high is None:
        return Cell("-")
    return Cell(f"[{low:.4g}, {high:.4g}]", source.href if source else None, "num")


def risks(evidence: Evidence) -> Section:
    section, found = _section(evidence, "risks")
    if found is None:
        return section
    source = section.source
    section.header = ("severity", "kind", "column", "finding")
    section.rows = [
        [
            Cell(risk.get("severity", ""), None, f"severity-{risk.get('severity', '')}"),
            words(risk.get("kind", "")),
            words(risk.get("column") or ""),
            Cell(risk.get("message", ""), source.href),
        ]
        for risk in found.risks
    ]
    section.notes.append(
        [
            words(f"{len(found.risks)} risks; validation by {found.split}."),
            Cell("record", source.href),
        ]
    )
    return section


def review(evidence: Evidence) -> Section:
    section, found = _section(evidence, "review")
    source = section.source
    if found is not None:
        findings, below = found.findings, found.below_threshold
    elif evidence.by_agents(QUALITY_REVIEW) and source is not None:
        # The Claude reviewers' confident findings, in their report's shape; how many fell below
        # the threshold is in their record's prose only.
        section.missing = ""
        findings = [
            {"path": f["file"], "line": f["line"], "rule": "", "area": "Claude reviewer", **f}
            for f in evidence.facts.of(QUALITY_REVIEW).findings
        ]
        below = None
    else:
        return section
    fixed = evidence.measured(FIXES_AND_VERIFICATION)
    remaining = {(f["path"], f["line"], f["rule"]) for f in fixed.remaining} if fixed else None
    fixes_source = evidence.sources.get(FIXES_AND_VERIFICATION.number)
    section.header = (
        "where",
        "reviewer",
        "rule",
        "confidence",
        "finding",
        f"after phase {FIXES_AND_VERIFICATION.number}",
    )
    for finding in findings:
        key = (finding["path"], finding["line"], finding["rule"])
        after = "" if remaining is None else ("remains" if key in remaining else "fixed")
        section.rows.append(
            [
                Cell(f"{finding['path']}:{finding['line']}", source.href, "num"),
                words(finding["area"]),
                words(finding["rule"]),
                num(finding["confidence"], source),
                words(finding["message"]),
                Cell(after, fixes_source.href if fixes_source and after else None),
            ]
        )
    note = [words(f"{len(findings)} findings at confidence {THRESHOLD} or more")]
    if below is not None:
        note += [words("("), num(below, source), words("below it were left out).")]
    section.notes.append(note)
    return section


def serving(evidence: Evidence) -> Section:
    section, found = _section(evidence, "serving")
    if found is None:
        return section
    if not found.serving:
        section.missing = f"Phase {INTEGRATION.number} measured no service for this project."
        return section
    source, bench = section.source, found.serving
    budget = evidence.answers.get("max_latency_ms") or None
    rows = []
    for server, figures in bench["servers"].items():
        for level in ("c1", "c8"):
            label = f"{server}, {level[1:]} at once"
            for statistic in ("p50", "p95", "p99"):
                value = figures[level][f"{statistic}_ms"]
                rows.append(
                    {"level": label, "statistic": statistic, "ms": value, "href": source.href}
                )
            section.rows.append(
                [
                    words(server),
                    num(int(level[1:]), source),
                    *(num(figures[level][f"{s}_ms"], source, 3) for s in ("p50", "p95", "p99")),
                    num(round(figures[level]["rps"]), source),
                    num(round(figures["batch_rows_per_s"]), source) if level == "c1" else Cell("-"),
                ]
            )
    section.header = (
        "server",
        "concurrency",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "requests/s",
        "rows/s (batches)",
    )
    section.chart = charts.latency(rows, float(budget) if budget else None)
    verdict = {
        None: "no latency budget was set",
        True: "meets the budget",
        False: "FAILS the budget",
    }
    section.notes.append(
        [
            words(f"{bench['requests']} one-row requests per level; p99 at concurrency 1"),
            num(bench["servers"]["project"]["c1"]["p99_ms"], source, 3),
            words("ms:"),
            Cell(verdict[found.meets_budget], source.href),
        ]
        + ([words("of"), num(float(budget), source), words("ms.")] if budget else [])
    )
    return section


def monitoring(evidence: Evidence) -> Section:
    section, found = _section(evidence, "monitoring")
    if found is None:
        return section
    source, report = section.source, found.drift
    floor = found.noise_floor_psi
    if not report:
        section.notes.append(
            [
                words("Noise floor (largest PSI, validation against training):"),
                num(floor, source, 3),
            ]
        )
        return section
    limits = report["thresholds"]
    rows = []
    for feature in report["features"][:TOP_FEATURES]:  # monitor's order: the worst first
        drifts = "drifts" if feature["drift"] else "steady"
        rows.append(
            {
                "feature": feature["name"],
                "psi": feature["psi"],
                "p_value": feature["p_value"],
                "drifts": drifts,
                "href": source.href,
            }
        )
        section.rows.append(
            [
                words(feature["name"]),
                num(feature["psi"], source, 3),
                num(feature["p_value"], source, 3),
                words(drifts),
            ]
        )
    section.header = ("feature", "PSI", "p-value", "verdict")
    section.chart = charts.drift(rows, limits["psi"], floor)
    section.notes.append(
        [
            words("A feature drifts when its PSI is at least"),
            num(limits["psi"], source, 3),
            words("and its test's p-value is below"),
            num(limits["p_value"], source, 3),
            words("; or its missing rate moves by"),
            num(limits["missing_rate"], source, 3),
            words("; or a share of"),
            num(limits["unseen_share"], source, 3),
            words("of its values are unseen categories. Noise floor (validation against training,"),
            num(report["rows"], source),
            words("rows):"),
            num(floor, source, 3),
            words(f"; verdict: {report['verdict']}."),
        ]
    )
    return section


def headline(evidence: Evidence) -> list[list[Cell]]:
    """The page's first lines: what the project predicts, and where the run stands."""
    answers = evidence.answers
    lines = [
        [
            words(
                f"{answers.get('task_type', '')} of {answers.get('target', '')} from"
                f" {answers.get('data_source', '')}; goal: {answers.get('goal') or 'not stated'}."
            )
        ]
    ]
    done = evidence.measured(FIXES_AND_VERIFICATION)
    if done is not None:
        with suppress(*ODD):  # the held-out section says what is wrong with the figures
            lines.append(_verdict(done, evidence.sources[FIXES_AND_VERIFICATION.number]))
    return lines


def _verdict(done: Any, source: Source) -> list[Cell]:
    """'Held out: gbm roc_auc 0.87 [0.78, 0.94] against the baseline's 0.5 (accepted).'"""
    evaluation = done.evaluation
    primary = evaluation["primary"]
    return [
        words(f"Held out: {evaluation['model']} {evaluation['primary_metric']}"),
        num(primary["value"], source),
        _interval(primary["low"], primary["high"], source),
        words("against the baseline's"),
        num(primary["baseline"], source),
        Cell(f"({'accepted' if done.accepted else 'not accepted'}).", source.href),
    ]


# Each section of the page, in reading order: its anchor, its heading, the phase whose facts it
# shows (none: every phase's), and what builds it.
SECTIONS: dict[str, tuple[str, Phase | None, Callable[[Evidence], Section]]] = {
    "timeline": ("The twelve phases", None, timeline),
    "bakeoff": ("The bake-off", MODEL_ARCHITECTURE, bakeoff),
    "held-out": ("Held-out metrics against the baseline", FIXES_AND_VERIFICATION, held_out),
    "serving": ("Serving latency", INTEGRATION, serving),
    "monitoring": ("Drift thresholds", SUMMARY, monitoring),
    "risks": ("Risks found in the data", RISK_ASSESSMENT, risks),
    "review": ("Review findings", QUALITY_REVIEW, review),
}


def build(evidence: Evidence) -> list[Section]:
    """The page's sections, in reading order. facts.json keeps the project's tools' outputs (a
    bake-off, a drift report) as they printed them; one that lacks what its section needs (a
    hand edit, an older tool) costs that section only, and the section says so. The timeline
    reads only the state and the records, which their own schemas check."""
    built = []
    for key, (_, spec, builder) in SECTIONS.items():
        try:
            built.append(builder(evidence))
        except ODD as exc:
            if spec is None:
                raise
            section, _ = _section(evidence, key)
            section.missing = (
                f"Phase {spec.number}'s figures in .ml-flow/facts.json are not as the report"
                f" expects ({type(exc).__name__}: {exc}); `ml-phases run --redo {spec.number}`"
                " measures them again."
            )
            built.append(section)
    return built
