"""The offline analysts of a forecasting project's Discovery and Design: the same phases as
design.py's, measured on a series.

A forecast is made at a cut-off from the past alone, so everything here follows from time:
the data is described by its frequency, gaps and seasonality; the risks are lookahead,
non-stationarity and covariates that are not known in advance; the only validation scheme is
walk-forward (time-ordered cut-offs), and the fact-checks refuse any other; the bar to clear is
the seasonal naive forecast. Every number comes from the project's `profile`, `risks` and
`bakeoff` (`--json`), as the ADRs say.
"""

from __future__ import annotations

import math
from typing import Any

from ...adr import Option, table
from ...changes import PhaseFailed
from ...phases import (
    DataArchitectureFacts,
    InfrastructureDesignFacts,
    ProblemAnalysisFacts,
    RiskAssessmentFacts,
)
from ..base import Context, Report
from .build import EXPERIMENT
from .common import (
    BAKEOFF_PHASE,
    BLIND_SPOTS,
    FACT_CHECK_PHASE,
    HELD_OUT_PHASE,
    RISK_PHASE,
    WEIGHED,
    fmt,
    limit,
    machine_memory_mb,
)
from .scale import STREAM_SHARE, train_command

WALK_FORWARD = "walk-forward"  # the one validation scheme of a forecasting project
# Its fact-check's name: the one a design cannot pass the gate without.
SCHEME_CHECK = "validation scheme is walk-forward"
# The splits a tabular project may use, and why each trains a forecaster on the future.
REFUSED_SPLITS = {
    "random split": "rows drawn at random: the model trains on steps after those it is tested on",
    "stratified split": "random, class shares kept: a series has no classes, and it leaks the"
    " future like a random split",
    "grouped split": "whole groups held out: a group's past and future stay together, but the"
    " training groups still see the test period",
}


def reference_name(ctx: Context) -> str:
    """The yardstick's name as people read it ("seasonal naive"): the catalogue's REFERENCE."""
    return str(ctx.project.catalogue.REFERENCE).replace("_", " ")


def baseline_text(ctx: Context) -> str:
    """What the seasonal-naive bar is on the project's metric, before the bake-off: MASE's is
    1 by construction; any other metric's is measured at the bake-off's origins."""
    if ctx.metric == "mase":
        return (
            "MASE 1 by construction (MASE divides by the in-sample error of the seasonal naive"
            " forecast)"
        )
    return (
        f"{ctx.metric} measured at each walk-forward origin by the bake-off (phase {BAKEOFF_PHASE})"
    )


def _horizon(ctx: Context) -> tuple[int, int]:
    forecast = ctx.config()["forecast"]
    return int(forecast["horizon"]), int(forecast.get("gap") or 0)


def problem_analysis(ctx: Context) -> Report:
    answers, metric = ctx.answers, ctx.metric
    profile = ctx.project.cli("profile", *ctx.overrides())
    time, series = profile["time"], profile["series"]
    horizon, gap = _horizon(ctx)
    reference = reference_name(ctx)
    baseline = 1.0 if metric == "mase" else None
    direction = "higher" if profile["primary_metric"]["higher_is_better"] else "lower"
    constraints = list(answers.get("constraints") or [])
    limits = [
        f"deployment: {answers.get('deployment_target', 'batch')}",
        limit("latency per forecast", answers.get("max_latency_ms"), "ms"),
        limit("model size", answers.get("max_model_mb"), "MB"),
        f"interpretability: {answers.get('interpretability', 'preferred')}",
    ]
    scored = ctx.project.catalogue.task_metrics(ctx.task)
    alternatives = [m for m in scored if m in WEIGHED and m != metric]
    loaded = f"Loaded capsule: {ctx.capsule}\n\n" if ctx.capsule else ""
    return Report(
        title=f"Problem analysis: forecasting {answers['target']} {horizon} steps ahead",
        context=(
            f"{loaded}Goal: {answers.get('goal', '')}\n\n"
            f"Data: `{answers['data_source']}`, {time['steps']} time steps of"
            f" {time['frequency']} from {time['start']} to {time['end']},"
            f" {series['count']} series; target `{answers['target']}` (forecasting), forecast"
            f" {horizon} steps ahead (gap {gap})."
        ),
        drivers=[
            f"primary metric {metric} ({direction} is better)",
            f"horizon: {horizon} steps of {time['frequency']}",
            *limits,
            *constraints,
        ],
        options=[
            Option(
                metric,
                "the metric the answers name",
                [f"{reference} baseline: {baseline_text(ctx)}"],
                [],
            ),
            *(
                Option(m, "an alternative metric", [], ["not the metric the answers name"])
                for m in alternatives
            ),
        ],
        chosen=metric,
        because=(
            f"the answers name it; success means beating the {reference} forecast (the value"
            " one season earlier) with the whole 95% interval of the difference, paired by"
            " origin, over the held-out origins."
        ),
        good=[
            f"a measured bar: {metric} must be {direction} than {reference}'s"
            + (" (1 by construction)" if baseline is not None else ", scored on the same origins")
        ],
        bad=[
            f"{metric} {BLIND_SPOTS[metric]}; phase {HELD_OUT_PHASE} reports the"
            " other metrics beside it"
        ],
        confirmation=f"Phase {HELD_OUT_PHASE} evaluates the chosen model on held-out origins"
        f" against {reference} on the same origins.",
        more="Known risks from the answers: " + ("; ".join(answers.get("risks") or []) or "none"),
        facts=ProblemAnalysisFacts(
            baseline=baseline, rows=profile["rows"], target=profile["target"]
        ),
    )


def gaps_text(time: dict[str, Any]) -> str:
    gaps = time["gaps"]
    if not gaps["count"]:
        return "no gap in the time grid"
    first = "; ".join(gaps.get("first") or [])
    return f"{gaps['count']} gaps in the time grid, {gaps['missing_steps']} missing steps" + (
        f" (first: {first})" if first else ""
    )


def seasonality_text(seasonality: dict[str, Any]) -> str:
    season = seasonality["season"]
    return (
        f"season {season} steps: autocorrelation at lag {season} {fmt(seasonality['acf'])}"
        " (of the one-step changes: a trend makes the levels' near 1 at every lag),"
        f" seasonal strength {fmt(seasonality['strength'])}"
    )


def data_architecture(ctx: Context) -> Report:
    profile = ctx.project.cli("profile", *ctx.overrides())
    time, seasonality, series = profile["time"], profile["seasonality"], profile["series"]
    data = ctx.config()["data"]
    known = list(data.get("known_covariates") or [])
    roles = {time["column"]: "time", ctx.answers["target"]: "target"}
    roles |= {series["column"]: "series id"} if series.get("column") else {}
    roles |= dict.fromkeys(known, "known covariate")
    schema = table(
        ("column", "role", "type", "missing", "distinct"),
        [
            (name, roles.get(name, "observed: unused"), c["dtype"], c["missing"], c["unique"])
            for c in profile["schema"]
            for name in [c["name"]]
        ],
    )
    unused = [c["name"] for c in profile["schema"] if c["name"] not in roles]
    numeric = [
        c
        for c in profile["schema"]
        if c["name"] in known and c["dtype"].startswith(("Int", "UInt", "Float", "Bool"))
    ]
    configured = data.get("frequency")
    frequency = f"frequency {time['frequency']}, measured on the time column `{time['column']}`" + (
        f" (the config says {configured})" if configured and configured != time["frequency"] else ""
    )
    filled = time["gaps"]["missing_steps"]
    return Report(
        title="Data architecture: the series, its grid and past-only features",
        context=(
            f"`{ctx.answers['data_source']}`: {time['steps']} time steps from {time['start']} to"
            f" {time['end']}, {series['count']} series, {frequency}.\n\n"
            f"* Gaps: {gaps_text(time)}; the target is missing at {time['missing_target']} steps."
            f"\n* Seasonality: {seasonality_text(seasonality)}."
            f"\n* Known covariates: {', '.join(f'`{c}`' for c in known) or 'none'}"
            + (f"; observed columns left out: {', '.join(unused)}" if unused else "")
            + f".\n\n{schema}"
        ),
        drivers=[
            "every feature of a forecast origin must come from before it",
            f"{time['gaps']['count']} gaps ({filled} missing steps) in the time grid",
            f"seasonality: {seasonality_text(seasonality)}",
        ],
        options=[
            Option(
                "past-only features",
                "lags, rolling statistics, calendar and Fourier terms computed from the steps"
                " before each origin; grid gaps forward-filled from the last value seen",
                [
                    "no value at or after an origin reaches its features",
                    f"the season of {seasonality['season']} steps is a lag and Fourier terms",
                ],
                [f"{filled} forward-filled steps repeat the last value seen"]
                if filled
                else ["a future gap would be forward-filled: flat stretches the model sees"],
            ),
            Option(
                "interpolated gaps",
                "fill each gap between the values on both sides",
                ["smooth series"],
                ["the value after a gap fills it: lookahead at every origin inside a gap"],
            ),
            Option(
                "drop the gaps",
                "keep only the observed steps",
                ["no value is made up"],
                [
                    "lags and the seasonal naive forecast assume a regular grid: a dropped step"
                    " shifts every lag after it"
                ],
            ),
        ],
        chosen="past-only features",
        because=(
            "it keeps the regular grid that lags, seasonal naive and MASE rely on, and a value"
            " after an origin never reaches the origin's features."
        ),
        good=["one feature path for backtests, training and forecasts"],
        bad=[f"{filled} missing steps are forward-filled, not measured"] if filled else [],
        confirmation="The project's no-lookahead property test: changing any value at or after"
        " an origin leaves every feature and forecast for that origin unchanged.",
        facts=DataArchitectureFacts(
            numeric=len(numeric),
            categorical=len(known) - len(numeric),
            rows=profile["rows"],
            temporal={"time": time, "seasonality": seasonality, "series": series},
        ),
    )


def stationarity_text(found: dict[str, Any] | None) -> str:
    """The unit-root tests as measured: ADF (null: a unit root) and KPSS (null: stationary)."""
    if not found:
        return "Stationarity was not measured."
    stationary = found["adf_p"] < 0.05 and found["kpss_p"] >= 0.05
    return (
        f"Stationarity of the target: ADF statistic {fmt(found['adf'])} (p {fmt(found['adf_p'])}),"
        f" KPSS statistic {fmt(found['kpss'])} (p {fmt(found['kpss_p'])})"
        + (
            ": stationary by both tests"
            if stationary
            else ": not stationary (ADF keeps a unit root or KPSS rejects stationarity)"
        )
        + f"; after one difference, ADF p {fmt(found['differenced_adf_p'])}."
    )


def _columns(risks: list[dict[str, Any]], kind: str) -> list[str]:
    return [str(r.get("column")) for r in risks if r["kind"] == kind]


def risk_assessment(ctx: Context) -> Report:
    report = ctx.project.cli("risks", *ctx.overrides())
    risks = report["risks"]
    kinds = sorted({risk["kind"] for risk in risks})
    found = table(
        ("severity", "risk", "finding"), [(r["severity"], r["kind"], r["message"]) for r in risks]
    )
    scores = report.get("single_feature_scores") or {}
    strongest = (
        max(scores.items(), key=lambda item: item[1]) if scores else None
    )  # |corr| with the target's next step
    lookahead, unknown = _columns(risks, "lookahead"), _columns(risks, "unknown_covariate")
    suspects = [
        f"Lookahead suspects: {', '.join(f'`{c}`' for c in lookahead) or 'none'}"
        " (a column that tracks the future target).",
        "Covariates declared known in advance that look observed: "
        + (", ".join(f"`{c}`" for c in unknown) or "none")
        + ".",
    ]
    if strongest:
        suspects.append(
            f"Strongest covariate: `{strongest[0]}`, |correlation| {fmt(strongest[1])} with the"
            " target's next step (lookahead is suspected at 0.98)."
        )
    return Report(
        title=f"Risk assessment: {len(risks)} data risks, {WALK_FORWARD} validation",
        context=(
            f"Measured on {report['rows']} rows by `risks`."
            f" {stationarity_text(report.get('stationarity'))}\n\n"
            + "\n".join(f"* {line}" for line in suspects)
            + (f"\n\n{found}" if risks else "\n\nNo risk crossed its threshold.")
        ),
        drivers=[
            "no value after a forecast origin may inform its forecast",
            *(r["message"] for r in risks if r["severity"] == "high"),
        ],
        options=[
            Option(
                WALK_FORWARD,
                "time-ordered cut-offs: fit on the steps before each origin, score the horizon"
                " after it",
                [
                    "no lookahead: a model never sees a step after its origin",
                    "tests what a forecast does in use",
                ],
                ["fewer scores than folds of a random split: one per origin"],
            ),
            *(
                Option(name, why, [], ["refused for a forecasting project: it leaks the future"])
                for name, why in REFUSED_SPLITS.items()
            ),
        ],
        chosen=WALK_FORWARD,
        because=(
            "a forecast is made at a cut-off from the past alone, and only time-ordered cut-offs"
            f" test that; the risks measured: {', '.join(kinds) or 'none'}."
        ),
        bad=[r["message"] for r in risks if r["severity"] in ("high", "medium")],
        confirmation=f"Phase {FACT_CHECK_PHASE}'s fact-checks refuse any split but"
        f" {WALK_FORWARD} and check the covariates against these risks.",
        facts=RiskAssessmentFacts(risks=risks, split=WALK_FORWARD, split_column=None, kinds=kinds),
    )


def bakeoff_context(bakeoff: dict[str, Any], candidates: dict[str, str], results: Any) -> str:
    """Phase 4's account of a walk-forward bake-off: its origins, horizon and gap, and every
    candidate's score beside the seasonal-naive reference's."""
    reference = bakeoff["reference"]
    cutoffs = bakeoff.get("cutoffs") or []
    rows = [
        (
            name,
            model,
            f"{fmt(r['mean'])} ± {fmt(r['std'])}",
            f"{r['fit_seconds']:.2f}",
            f"{r['latency_ms_single_row']:.2f}",
            f"{r['size_kb']:.1f}",
        )
        for name, model in candidates.items()
        for r in [results[name]]
    ]
    rows.append(
        (
            "reference",
            reference["model"],
            f"{fmt(reference['mean'])} ± {fmt(reference['std'])}",
            "n/a",
            "n/a",
            "n/a",
        )
    )
    scores = table(
        (
            "candidate",
            "model",
            f"{bakeoff['metric']} mean ± std",
            "fit s (an origin)",
            "latency ms (a forecast)",
            "size KB",
        ),
        rows,
    )
    span = f" (cut-offs {cutoffs[0]} to {cutoffs[-1]})" if cutoffs else ""
    return (
        f"Three candidates backtested {bakeoff.get('scheme', WALK_FORWARD)} by `bakeoff` at"
        f" {bakeoff['folds']} origins{span}, a horizon apart, each refitted on the steps before"
        f" its cut-off: horizon {bakeoff['horizon']} steps, gap {bakeoff['gap']}, on"
        f" {bakeoff['rows']} time steps before the test part. The reference,"
        f" {reference['model']}, is scored at the same origins; a forecast is one series'"
        f" horizon.\n\n{scores}"
    )


def fact_checks(risks: RiskAssessmentFacts) -> list[tuple[str, bool, str]]:
    """The data scientists' checks of a forecasting design: name, passed, evidence."""
    kinds, found = risks.kinds, risks.risks
    lookahead, unknown = _columns(found, "lookahead"), _columns(found, "unknown_covariate")
    return [
        (
            SCHEME_CHECK,
            risks.split == WALK_FORWARD,
            f"split: {risks.split}; a forecast is tested only at cut-offs after the steps it"
            " learns from",
        ),
        (
            "no lookahead suspect left in the covariates",
            "lookahead" not in kinds,
            "no column tracks the future target"
            if not lookahead
            else f"{', '.join(lookahead)} tracks the future target",
        ),
        (
            "every known covariate is known in advance",
            "unknown_covariate" not in kinds,
            "the declared known covariates look planned"
            if not unknown
            else f"{', '.join(unknown)} looks observed, not planned",
        ),
    ]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def refuse_other_splits(risks: RiskAssessmentFacts) -> None:
    """A forecasting design validated any way but walk-forward stops here, whoever chose it."""
    if risks.split != WALK_FORWARD:
        raise PhaseFailed(
            f"the fact-checks refuse the split '{risks.split}': a forecasting project is"
            f" validated {WALK_FORWARD} only (time-ordered cut-offs), since any other split"
            f" trains on steps after the origins it tests; redo phase {RISK_PHASE}"
            f" (`ml-phases run --redo {RISK_PHASE}`)"
        )


def infrastructure_design(ctx: Context) -> Report:
    shape, risks = ctx.facts.data_architecture, ctx.facts.risk_assessment
    checks = fact_checks(risks)
    refuse_other_splits(risks)
    config = ctx.config()
    tracking = config["tracking"]["backend"]
    temporal = shape.temporal or {}
    steps = int(temporal.get("time", {}).get("steps") or shape.rows)
    count = int(temporal.get("series", {}).get("count") or 1)
    covariates = len(config["data"].get("known_covariates") or [])
    memory_mb = steps * count * (1 + covariates) * 4 / 2**20
    train_steps = int(steps * (1 - config["forecast"]["test_size"]))
    train, gru = config["train"], config["model"]["gru"]
    tbptt, streams = int(train["tbptt_steps"]), int(train["streams"])
    hidden, layers = int(gru["hidden"]), int(gru["layers"])
    stream_steps = max(1, train_steps * count // streams)
    chunk = min(tbptt, stream_steps)  # a stream shorter than a chunk is one chunk
    chunks = math.ceil(stream_steps / tbptt)
    least = int(train.get("min_steps") or 0)
    # A GRU step keeps its three gates and the new state per unit: four values a unit.
    chunk_kb = chunk * streams * 4 * hidden * layers * 4 / 1024
    whole_kb = stream_steps * streams * 4 * hidden * layers * 4 / 1024
    truncates = stream_steps > tbptt
    ram = machine_memory_mb()
    limit_mb = None if ram is None else ram / STREAM_SHARE
    fits = limit_mb is None or memory_mb <= limit_mb
    failed = [name for name, passed, _ in checks if not passed]
    checked = table(
        ("check", "result", "evidence"),
        [(name, "pass" if ok else "FAIL", why) for name, ok, why in checks],
    )
    return Report(
        title="Infrastructure design: tracking, checkpoints, truncated BPTT on in-memory series",
        context=(
            f"Training data: {steps} time steps x {count} series x {1 + covariates}"
            f" value{'s' if covariates else ''} a step = {memory_mb:.2f} MB as float32"
            + (
                f", measured against {ram:.0f} MB of physical memory on this machine: the"
                f" series fits in memory (the rule streams past 1/{STREAM_SHARE} of memory,"
                f" {limit_mb:.0f} MB)"
                if ram is not None and limit_mb is not None and fits
                else ""
            )
            + ". One process, one device: the forecasting project trains in one process (no"
            " DDP), and nothing here needs data parallelism."
            f"\n\nNo batch of rows: ets and gbm fit at each cut-off in one go, and the gru"
            f" candidate trains with truncated backpropagation through time. The {train_steps}"
            f" steps before the test part are cut into {streams} parallel streams"
            f" (`train.streams`, the batch dimension) of about {stream_steps} steps, read in"
            f" chunks of {tbptt} steps (`train.tbptt_steps`): {plural(chunks, 'optimizer step')}"
            " an epoch"
            + (f", and `train.min_steps` adds epochs up to {least} steps" if least else "")
            + ". The hidden state carries from chunk to chunk and is detached at each boundary,"
            f" so a step holds about {chunk_kb:.0f} KB of activations ({hidden} units,"
            f" {plural(layers, 'layer')}) whatever the series' length"
            + (
                "."
                if truncates
                else f"; today a stream ({stream_steps} steps) fits in one chunk, so nothing is"
                " truncated yet."
            )
            + f"\n\nFact-checks:\n\n{checked}"
        ),
        drivers=["runs must be reproducible and resumable", f"tracking: {tracking}"],
        options=[
            Option(
                "truncated BPTT on in-memory streams",
                f"{streams} streams, chunks of {tbptt} steps, state detached between chunks",
                [f"about {chunk_kb:.0f} KB of activations a step, fixed as the series grows"],
                [f"gradients reach back {tbptt} steps, not to the start of the series"]
                if truncates
                else [],
            ),
            Option(
                "backpropagation through the whole series",
                "one graph over every training step",
                ["gradients reach the first step"],
                [
                    f"about {whole_kb:.0f} KB of activations a step today, growing with the"
                    " series' length"
                ],
            ),
            Option(
                "streaming loader",
                "DataLoader over files",
                ["scales past memory"],
                [f"the series takes {memory_mb:.2f} MB: nothing to stream"],
            ),
        ],
        chosen="truncated BPTT on in-memory streams",
        because=f"the series takes {memory_mb:.2f} MB"
        + (f", no more than 1/{STREAM_SHARE} of this machine's memory" if fits else "")
        + f", and chunks of {tbptt} steps keep a step's memory fixed.",
        good=[
            f"TBPTT: {tbptt} steps a chunk, {streams} streams,"
            f" {plural(chunks, 'optimizer step')} an epoch",
            "checkpoints every epoch (last.pt, best.pt) written atomically; exact resume",
            f"{tracking} tracking with the config, metrics, git commit and data fingerprint",
        ],
        bad=[f"fact-check failed: {name}" for name in failed]
        + (
            []
            if fits
            else [f"the series needs more than 1/{STREAM_SHARE} of memory: stream it from disk"]
        ),
        confirmation="The fact-checks above; a failed check is listed for the design gate, and"
        f" any split but {WALK_FORWARD} stops this phase.",
        facts=InfrastructureDesignFacts(
            memory_mb=memory_mb,
            failed_checks=failed,
            tracking=tracking,
            batch_size=streams,
            train_rows=train_steps,
            tbptt_steps=tbptt,
            command=train_command(ctx.project.package, EXPERIMENT, 1),
        ),
    )
