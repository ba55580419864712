"""Offline phases 10-12 (Validation): review the code, fix what is safe, verify, summarise.

Phase 10's reviewers run ruff and the ML rules of review.py; only findings with confidence
>= 80 are reported, each with file:line. Phase 11 applies ruff's safe fixes to the files its
engineers own, runs the whole suite, trains the experiment fully and evaluates it on the
held-out rows with bootstrap intervals. Phase 12 writes the summary and the model card from
the records and the measured results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import phases, review
from ...adr import Option, parse, records, table
from ...layout import adr_dir
from ...phases import FixesAndVerificationFacts, QualityReviewFacts, SummaryFacts
from ...project import ToolError
from ..base import Context, Report
from . import serving
from .build import EXPERIMENT, workspace
from .common import BAKEOFF_PHASE, CARD_PHASE, HELD_OUT_PHASE, PROBLEM_PHASE, SERVE_PHASE, fmt

MODEL_CARD = "docs/model_card.md"
COVERAGE_TOLERANCE = 0.1  # how far an interval's coverage may fall from its level
LINTED = ("src", "tests")


def _ruff_json(ctx: Context, *args: str) -> list[dict[str, Any]]:
    """ruff's violations as JSON. Exit code 1 with violations is a finding (`format --check`
    exits 1 when a file would be reformatted); any other failure, or output that is not a JSON
    list, means ruff could not check, which is an error, never "no findings"."""
    done = ctx.project.run("-m", "ruff", *args, "--output-format", "json", *LINTED)
    try:
        violations = json.loads(done.stdout.strip() or "[]") if done.returncode in (0, 1) else None
    except ValueError:
        violations = None
    if not isinstance(violations, list) or (done.returncode == 1 and not violations):
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise ToolError(f"ruff {args[0]} could not check the project: {reason}")
    return violations


def ruff_findings(ctx: Context) -> list[review.Finding]:
    """ruff's lint and format checks, read from its JSON output (its rules are exact:
    confidence 95)."""
    root = ctx.project.root

    def finding(item: dict[str, Any], rule: str, message: str) -> review.Finding:
        path = Path(item["filename"]).resolve().relative_to(root).as_posix()
        return review.Finding(rule, "code quality", path, item["location"]["row"], message, 95)

    linted = [
        finding(
            item, f"ruff {item['code']}" + (" (safe fix)" if _safe(item) else ""), item["message"]
        )
        for item in _ruff_json(ctx, "check", "--exit-zero")
    ]
    unformatted = [
        finding(item, "ruff format (safe fix)", "not formatted")
        for item in _ruff_json(ctx, "format", "--check")
    ]
    return linted + unformatted


def _safe(item: dict[str, Any]) -> bool:
    return (item.get("fix") or {}).get("applicability") == "safe"


def _sources(ctx: Context) -> list[str]:
    root = ctx.project.root
    return sorted(p.relative_to(root).as_posix() for p in (root / "src").rglob("*.py"))


def all_findings(ctx: Context) -> list[review.Finding]:
    """ruff's findings on src/ and tests/ and the ML rules' on src/, at every confidence (a
    forecasting project's with the time-series rules)."""
    return ruff_findings(ctx) + review.review(ctx.project.root, _sources(ctx), ctx.forecasting)


def quality_review(ctx: Context) -> Report:
    found = all_findings(ctx)
    shown = review.reported(found)
    hidden = len(found) - len(shown)
    areas = ("code quality", "ML practice", "performance")
    counts = {area: sum(f.area == area for f in shown) for area in areas}
    listed = table(
        ("reviewer", "where", "rule", "confidence", "finding"),
        [(f.area, f"`{f.where}`", f.rule, f.confidence, f.message) for f in shown],
    )
    return Report(
        title=f"Quality review: {len(shown)} finding{'' if len(shown) == 1 else 's'} at"
        f" confidence >= {review.THRESHOLD}",
        context=(
            "Three reviewers: code quality (ruff check and ruff format on `src/` and `tests/`),"
            " ML practice and performance (the engine's review rules on `src/`:"
            " evaluation without model.eval() or no_grad, a fit before the split, unseeded"
            " randomness; a host sync in the training step (`.item()`, `.cpu()`, `.tolist()`,"
            " `.numpy()`, or `float()`, `int()` or `print()` of a tensor in the loop that calls"
            " `.backward()`: each waits for the device on every step); gathering onto one rank"
            " (torch.distributed's `gather` or `gather_object` of anything, as one process then"
            " holds every rank's share, and `all_gather` of something named like the data, `x`,"
            " `data`, `dataset`, `frame`, `df` or `rows`, as every rank then holds the whole data"
            " set; an `all_gather` of predictions or scores is how validation metrics are"
            " reduced across ranks, and is not flagged)"
            + (
                "; and, as this project forecasts, a shuffled time series, a scaler fitted on"
                " every row, a `shift(-k)` that uses the future"
                if ctx.forecasting
                else ""
            )
            + ").\n\n"
            + (listed if shown else "No finding reached the threshold.")
            + (
                f"\n\n{hidden} findings below confidence {review.THRESHOLD} are not reported."
                if hidden
                else ""
            )
        ),
        drivers=[f"{area}: {count} findings" for area, count in counts.items()],
        options=[
            Option(
                f"report confidence >= {review.THRESHOLD}",
                "only findings likely to be real",
                ["each one is worth a fix"],
                [f"{hidden} weaker findings are not shown"] if hidden else [],
            ),
            Option(
                "report everything",
                "every rule hit, however unsure",
                [],
                ["weak findings bury the real ones"] if hidden else [],
            ),
        ],
        chosen=f"report confidence >= {review.THRESHOLD}",
        because=f"phase {HELD_OUT_PHASE} fixes what it safely can, and the rest is"
        " listed for a person.",
        bad=[f"`{f.where}`: {f.message}" for f in shown],
        confirmation=f"Phase {HELD_OUT_PHASE} reruns the review after its fixes.",
        facts=QualityReviewFacts(
            findings=[dataclasses.asdict(f) for f in shown], below_threshold=hidden
        ),
    )


def fixes_and_verification(ctx: Context) -> Report:
    project = ctx.project
    space = workspace(ctx)
    owned = set(space.snapshot.before)
    findings = [review.Finding(**f) for f in ctx.facts.quality_review.findings]
    fixable = sorted({f.path for f in findings if "safe fix" in f.rule and f.path in owned})
    if fixable:
        project.run("-m", "ruff", "check", "--fix", "--exit-zero", *fixable)
        project.run("-m", "ruff", "format", *fixable)
    fixed = space.snapshot.changed()
    tests = space.verify(full=True)
    remaining = review.reported(all_findings(ctx))
    summary = project.cli("train", config=EXPERIMENT)
    report = project.cli("evaluate", "--run", summary["run_dir"], config=EXPERIMENT)
    metric, value, beats = report["primary_metric"], report["primary"], report["beats_baseline"]
    level = f"{report['confidence']:.0%}"
    held = HeldOut.of(report)
    rows = table(
        ("metric", "value", "interval", held.baseline, "difference [interval]"),
        [
            (
                name,
                fmt(v["value"]),
                f"[{fmt(v['low'])}, {fmt(v['high'])}]",
                fmt(v["baseline"]),
                f"{v['delta']:+.4f} [{v['delta_low']:+.4f}, {v['delta_high']:+.4f}]",
            )
            for name, v in report["metrics"].items()
        ],
    )
    verdict = "accept the model" if beats else "do not accept yet"
    uncertainty = (
        f"{held.count} {held.unit} measure it: the {level} interval of {metric} is"
        f" {value['high'] - value['low']:.4f} wide, and the gain over the baseline could be as"
        f" small as {value['delta_low']:+.4f}"
    )
    coverage = coverage_text(report) if held.forecast else None
    study, tuned = tune(ctx)
    return Report(
        title=f"Fixes and verification: {metric} {fmt(value['value'])}"
        f" [{fmt(value['low'])}, {fmt(value['high'])}] on held-out"
        f" {'origins' if held.forecast else 'rows'}",
        context=(
            f"Fixes: {', '.join(f'`{p}`' for p in fixed) or 'none needed'} (ruff's safe fixes"
            " and formatting, only in files the engineers own)."
            f" {len(remaining)} findings remain at confidence >= {review.THRESHOLD}."
            f"\n\nTests: {tests.describe() if tests else 'not run'}.\n\n"
            f"Full training of `{EXPERIMENT}`: {summary['model']}{epochs(summary)},"
            f" {summary['seconds']} s; run"
            f" `{summary['run_dir']}`, {summary['tracking']}.\n\n"
            + (
                held_out_forecasts(report, level, coverage or "", rows)
                if held.forecast
                else f"Held-out evaluation on {report['rows']} test rows, {level} bootstrap"
                " intervals, against the dummy baseline on the same rows:\n\n"
                f"{rows}"
            )
            + (f"\n\n{tuned}" if tuned else "")
        ),
        drivers=[
            f"success criterion (ADR {PROBLEM_PHASE:04d}): {metric} beats the {held.baseline}"
            " with the whole"
            f" {level} interval of the difference",
            *(
                [f"the prediction intervals cover within {COVERAGE_TOLERANCE} of their level"]
                if held.forecast
                else []
            ),
            "the whole test suite must pass",
        ],
        options=[
            Option(
                "accept the model",
                "the model goes on to the summary and model card",
                [f"difference in {metric}: {value['delta']:+.4f}"] if beats else [],
                [uncertainty] if beats else ["the interval of the difference includes zero"],
            ),
            Option(
                "do not accept yet",
                "back to the design with the evidence",
                []
                if beats
                else [
                    f"the model does not clearly beat {held.baseline}"
                    if held.forecast
                    else "the model does not clearly beat predicting the prior"
                ],
                ["the model beats the baseline with the whole interval"] if beats else [],
            ),
        ],
        chosen=verdict,
        because=(
            f"the {level} interval of the difference in {metric}"
            f" ([{value['delta_low']:+.4f}, {value['delta_high']:+.4f}])"
            + (" excludes zero on the right side." if beats else " does not exclude zero.")
        ),
        good=[f"metrics.json and plots in `{report['run']}`"]
        + ([coverage] if coverage and covers(report) else [])
        + ([gain_text(study)] if study and improved(study) else []),
        bad=[
            uncertainty,
            *([coverage] if coverage and not covers(report) else []),
            *(f"`{f.where}`: {f.message}" for f in remaining),
            *([tuned[0].lower() + tuned[1:]] if tuned.startswith(TUNE_FAILED) else []),
            *([gain_text(study)] if study and not improved(study) else []),
        ],
        confirmation=f"`{project.package} evaluate --run {summary['run_dir']}` reproduces it.",
        facts=FixesAndVerificationFacts(
            fixed=fixed,
            remaining=[dataclasses.asdict(f) for f in remaining],
            tests=tests.describe() if tests else None,
            train=summary,
            evaluation=report,
            accepted=beats,
            tuning=study,
        ),
    )


TUNE_FAILED = "Tuning failed:"
# What phase 11 reads from `tune --json` (the generated project's tune command prints it).
STUDY_KEYS = (
    "study",
    "metric",
    "direction",
    "trials",
    "untuned_value",
    "best_value",
    "best_params",
    "best_config",
    "seconds",
)


def tune(ctx: Context) -> tuple[dict[str, Any] | None, str]:
    """The Optuna study phase 11 runs when the answers give a budget (`tuning_trials`), and
    its account for the ADR; (None, why not) when it is not asked for or fails. A forecasting
    project has no tune command: (None, '')."""
    if ctx.forecasting:
        return None, ""
    package, trials = ctx.project.package, int(ctx.answers.get("tuning_trials") or 0)
    if trials <= 0:
        return None, (
            "Tuning: not asked for (`tuning_trials` is 0). Answer it with a number of Optuna"
            f" trials (`copier update --data tuning_trials=30`) for phase {HELD_OUT_PHASE} to"
            f" tune the approved model, or run `{package} tune --trials 30 --config {EXPERIMENT}`."
        )
    try:
        study = ctx.project.cli("tune", "--trials", str(trials), config=EXPERIMENT)
        missing = [key for key in STUDY_KEYS if key not in study]
        if missing:
            raise ToolError(f"`{package} tune --json` printed no {', '.join(missing)}")
    except (ToolError, ValueError, TypeError) as exc:  # ValueError: output that is not JSON
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        reason = reason.removeprefix(f"`{package} tune` failed: ")  # the command is named below
        return None, f"{TUNE_FAILED} `{package} tune --trials {trials}`: {reason}"
    return study, study_text(package, trials, study)


def improved(study: dict[str, Any]) -> bool:
    """Whether the best trial beats the config's own values in the study's direction."""
    if study["best_value"] is None or study["untuned_value"] is None:
        return False
    sign = -1 if study["direction"] == "minimize" else 1
    return sign * (study["best_value"] - study["untuned_value"]) > 0


def comparison(study: dict[str, Any]) -> str:
    """'validation rmse 52.1000 against 55.3000 untuned (-3.2000, better; minimize)'."""
    if study["best_value"] is None:
        return f"validation {study['metric']}: no trial finished"
    if study["untuned_value"] is None:  # a study that already held other defaults' trial
        return (
            f"validation {study['metric']} {fmt(study['best_value'])}; the untuned value was"
            " not measured in this study (its first trial queued other defaults: give the"
            " study a new name, tune.study, to measure these)"
        )
    difference = study["best_value"] - study["untuned_value"]
    return (
        f"validation {study['metric']} {fmt(study['best_value'])} against"
        f" {fmt(study['untuned_value'])} untuned ({difference:+.4f}, "
        + ("better" if improved(study) else "no better")
        + f"; {study['direction']})"
    )


def gain_text(study: dict[str, Any]) -> str:
    return f"tuning: {comparison(study)}"


def study_text(package: str, trials: int, study: dict[str, Any]) -> str:
    """Phase 11's account of a study: trials, best against untuned, parameters, config."""
    counts = study["trials"]
    params = table(
        ("parameter", "best value"),
        [(f"`{key}`", value) for key, value in study["best_params"].items()],
    )
    return (
        f"Tuning (`tuning_trials` {trials}): `{package} tune --trials {trials}` ran study"
        f" `{study['study']}`: {counts.get('complete', 0)} trials complete,"
        f" {counts.get('pruned', 0)} pruned, {counts.get('failed', 0)} failed, in"
        f" {study['seconds']:.1f} s. The best trial's {comparison(study)}; the"
        " untuned value is the config's own values, enqueued as the first trial. These are"
        " validation scores: the held-out rows above judge the untuned experiment, and judge"
        " the tuned one only once it is trained and evaluated.\n\n"
        f"{params}\n\n"
        f"Best config: `{study['best_config']}` (`{package} train --config"
        f" {study['best_config']}` trains it)."
    )


@dataclass(frozen=True)
class HeldOut:
    """How an evaluation's held-out part is named: test rows against the dummy baseline, or a
    forecasting project's held-out origins against its reference (seasonal naive)."""

    forecast: bool
    count: int
    unit: str
    baseline: str

    @classmethod
    def of(cls, report: dict[str, Any]) -> HeldOut:
        if "origins" not in report:
            return cls(False, report["rows"], "test rows", "dummy baseline")
        reference = str(report.get("baseline_model", "seasonal_naive")).replace("_", " ")
        return cls(True, report["origins"], "held-out origins", reference)


def covers(report: dict[str, Any]) -> bool:
    """Whether the intervals' measured coverage is within COVERAGE_TOLERANCE of their level."""
    coverage = report["coverage"]
    return abs(coverage["value"] - coverage["level"]) <= COVERAGE_TOLERANCE


def coverage_text(report: dict[str, Any]) -> str:
    coverage = report["coverage"]
    miss = coverage["value"] - coverage["level"]
    return (
        f"interval coverage {coverage['value']:.1%} [{coverage['low']:.1%},"
        f" {coverage['high']:.1%}] of the {coverage['level']:.0%} prediction intervals over"
        f" {coverage['origins']} origins: {miss:+.3f} from the nominal level, "
        + ("within" if covers(report) else "more than")
        + f" {COVERAGE_TOLERANCE}"
    )


def held_out_forecasts(report: dict[str, Any], level: str, coverage: str, rows: str) -> str:
    """Phase 11's account of a forecaster's held-out origins: MASE with its interval, the
    paired difference against the reference, and the intervals' coverage."""
    held = HeldOut.of(report)
    mase = report["metrics"].get("mase")
    stated = (
        f"MASE {fmt(mase['value'])} [{fmt(mase['low'])}, {fmt(mase['high'])}]; paired"
        f" difference against {held.baseline} {mase['delta']:+.4f}"
        f" [{mase['delta_low']:+.4f}, {mase['delta_high']:+.4f}]. "
        if mase
        else ""
    )
    return (
        f"Held-out evaluation on {held.count} origins ({report['rows']} forecasts of"
        f" {report['horizon']} steps), {level} intervals across origins, against"
        f" {held.baseline} on the same origins, paired by origin:\n\n{rows}\n\n"
        f"{stated}{coverage[0].upper()}{coverage[1:]}."
    )


def forecast_lines(evaluation: dict[str, Any], trained: dict[str, Any]) -> str:
    """The model card's forecasting lines: horizon, MASE with its interval, coverage."""
    coverage = evaluation["coverage"]
    mase = evaluation["metrics"].get("mase")
    lines = [
        f"- Horizon: {evaluation['horizon']} steps of {trained.get('frequency', 'one step')}"
        f" (season {trained.get('season', 'n/a')} steps)",
        f"- Interval coverage: {coverage['value']:.1%} [{coverage['low']:.1%},"
        f" {coverage['high']:.1%}] of the {coverage['level']:.0%} prediction intervals over"
        f" {coverage['origins']} held-out origins ("
        + ("within" if covers(evaluation) else "more than")
        + f" {COVERAGE_TOLERANCE} of the nominal level)",
    ]
    if mase:
        lines.append(
            f"- MASE: {fmt(mase['value'])} [{fmt(mase['low'])}, {fmt(mase['high'])}] on"
            " held-out origins (below 1: smaller errors than the in-sample seasonal naive"
            " forecast)"
        )
    return "\n".join(lines)


def epochs(summary: dict[str, Any]) -> str:
    """', 40 epochs (best 31)' for the networks (mlp, gru); nothing for models fitted in one
    go."""
    if summary["model"] not in ("mlp", "gru"):
        return ""
    return f", {summary['epochs_run']} epochs (best {summary['best_epoch']})"


def summary(ctx: Context) -> Report:
    root = ctx.project.root
    paths = records(adr_dir(root))
    decisions = {n: (parse(p.read_text(encoding="utf-8")), p.name) for n, p in paths.items()}
    done = ctx.facts.fixes_and_verification
    floor = serving.noise_floor(ctx, done.train["run_dir"])
    plan = serving.monitoring_plan(ctx.project.package, floor)
    card = model_card(ctx, decisions, plan)
    (root / MODEL_CARD).write_text(card, encoding="utf-8")
    approved = ctx.approved or ctx.facts.model_architecture.chosen
    value = done.evaluation["metrics"][ctx.metric]
    redesigned = phases.span(phases.PHASES[BAKEOFF_PHASE - 1 :])  # from the bake-off on
    decided = table(
        ("#", "decision", "chosen"),
        [
            (n, f"[{record.title}](./{name})", record.chosen)
            for n, (record, name) in sorted(decisions.items())
        ],
    )
    steps = next_steps(ctx, floor)
    return Report(
        title=f"Summary: {approved} ({ctx.candidates[approved]}) for {ctx.answers['target']},"
        f" {ctx.metric} {fmt(value['value'])}",
        context=(
            f"Goal: {ctx.answers.get('goal') or 'not stated'}\n\n"
            f"{decided}\n\n"
            f"The model card is in `{MODEL_CARD}`."
        ),
        drivers=["every decision and number traceable to a record"],
        options=[
            Option(
                "hand over",
                "the model, its run and its model card",
                ["it beats the baseline on held-out rows"] if done.accepted else [],
                [] if done.accepted else ["it does not clearly beat the baseline"],
            ),
            Option(
                "revisit the design",
                f"reject the design and redo phases {redesigned}",
                [],
                [] if not done.accepted else ["no measurement asks for it"],
            ),
        ],
        chosen="hand over" if done.accepted else "revisit the design",
        because=f"of the held-out verdict in phase {HELD_OUT_PHASE}.",
        good=[f"`{MODEL_CARD}`"],
        confirmation=f"The model card's numbers are those of phase {HELD_OUT_PHASE}'s run.",
        more="Monitoring plan (`monitor --split val` on the held-out run):\n\n"
        + "\n".join(f"* {line}" for line in plan)
        + "\n\nNext steps:\n\n"
        + "\n".join(f"* {step}" for step in steps),
        facts=SummaryFacts(
            model_card=MODEL_CARD,
            noise_floor_psi=serving.floor_psi(floor),
            drift=serving.drift_facts(floor),
        ),
    )


def next_steps(ctx: Context, floor: dict[str, Any]) -> list[str]:
    risks, done = ctx.facts.risk_assessment.risks, ctx.facts.fixes_and_verification
    served = ctx.facts.integration
    steps = [f"address the data risk: {r['message']}" for r in risks if r["severity"] == "high"]
    steps += [f"fix `{f['path']}:{f['line']}`: {f['message']}" for f in done.remaining]
    steps += [
        f"drop the identifier column `{r['column']}`" for r in risks if r["kind"] == "id_like"
    ]
    steps += [
        f"drop the lookahead suspect `{r['column']}` or use it only lagged past the horizon"
        for r in risks
        if r["kind"] == "lookahead" and r["severity"] != "high"  # high ones are listed above
    ]
    steps += [
        f"remove `{r['column']}` from data.known_covariates, or give its planned values"
        for r in risks
        if r["kind"] == "unknown_covariate"
    ]
    if "coverage" in done.evaluation and not covers(done.evaluation):
        steps.append(f"recalibrate the prediction intervals: {coverage_text(done.evaluation)}")
    if done.tuning and improved(done.tuning):
        steps.append(
            f"train the tuned config `{done.tuning['best_config']}` and evaluate it on the"
            f" held-out rows ({gain_text(done.tuning)})"
        )
    if served.meets_budget is False:
        latency = serving.verdict(ctx, served.serving)
        steps.append(f"make serving faster or relax the budget: {latency}")
    if floor["verdict"] != "no drift":
        steps.append(
            "the validation split drifts from training on"
            f" {', '.join(floor['drifted'])}: check the split before trusting drift alerts"
        )
    if not done.accepted:
        steps.append("the model does not beat the baseline: reject the design with the evidence")
    return steps or ["none found by the checks; watch the metric on new data"]


def model_card(ctx: Context, decisions: dict[int, tuple[Any, str]], plan: list[str]) -> str:
    answers, facts = ctx.answers, ctx.facts
    done = facts.fixes_and_verification
    evaluation, trained = done.evaluation, done.train
    approved = ctx.approved or facts.model_architecture.chosen
    bakeoff = {r["model"]: r for r in facts.model_architecture.bakeoff["results"]}
    chosen = bakeoff[ctx.candidates[approved]]
    level = f"{evaluation['confidence']:.0%}"
    verdict = "beats" if done.accepted else "does not clearly beat"
    latency, size_kb = chosen["latency_ms_single_row"], chosen["size_kb"]
    today = dt.date.today().isoformat()
    counts = trained["rows"]
    split_rows = f"{counts['train']} train, {counts['val']} validation, {counts['test']} test rows"
    held = HeldOut.of(evaluation)
    predicts = "to predict one row"
    more = ""  # a forecaster's lines after the size
    evaluated = (
        f"{evaluation['rows']} held-out test rows, {level} bootstrap intervals; the dummy"
        " baseline\npredicts the training distribution for every row."
    )
    if held.forecast:  # a forecaster: its horizon, its intervals' coverage, its MASE
        predicts = "to forecast one series' horizon"
        split_rows = (
            f"{counts['train']} train, {counts['val']} calibration, {counts['test']} test"
            " time steps"
        )
        more = "\n" + forecast_lines(evaluation, trained)
        evaluated = (
            f"{held.count} held-out origins ({evaluation['rows']} forecasts of"
            f" {evaluation['horizon']} steps), {level}\nintervals across origins; the"
            f" {held.baseline} baseline forecasts the value one season earlier,\nscored on the"
            " same origins."
        )
    metrics = table(
        ("metric", "value", "interval", held.baseline),
        [
            (name, fmt(v["value"]), f"[{fmt(v['low'])}, {fmt(v['high'])}]", fmt(v["baseline"]))
            for name, v in evaluation["metrics"].items()
        ],
    )
    risks = (
        "\n".join(f"- {r['severity']}: {r['message']}" for r in facts.risk_assessment.risks)
        or "- none"
    )
    constraints = "\n".join(f"- {c}" for c in answers.get("constraints") or []) or "- none stated"
    links = "\n".join(
        f"- [{n:04d}: {record.title}](adr/{name})"
        for n, (record, name) in sorted(decisions.items())
    )
    package = ctx.project.package
    served = facts.integration
    service = (
        f"{serving.verdict(ctx, served.serving)} (phase {SERVE_PHASE}, `{serving.BENCH}` on the"
        f" short run):\n\n{serving.latency_table(served.serving)}"
        if served.serving
        else f"not measured (phase {SERVE_PHASE} ran no benchmark)"
    )
    monitoring = "\n".join(f"- {line}" for line in plan)
    return f"""# Model card: {answers.get("project_name") or package}

Written by ml-phases (phase {CARD_PHASE}) on {today} from the design records in
[docs/adr](adr/README.md) and the measured run; every number below was measured on this
project's data.

## Model

- Task: {answers["task_type"]} of `{answers["target"]}`
- Model: `{trained["model"]}` ({approved} candidate), trained with `{EXPERIMENT}`
- Run: `{trained["run_dir"]}` (trained in {trained["seconds"]} s{epochs(trained)})
- Size: {size_kb:.1f} KB; {latency:.2f} ms {predicts} (phase {BAKEOFF_PHASE}'s bake-off){more}

## Intended use

- Goal: {answers.get("goal") or "not stated"}
- Deployment: {answers.get("deployment_target", "batch")}
- Interpretability: {answers.get("interpretability", "preferred")}

Constraints:

{constraints}

## Data

- Source: `{answers["data_source"]}`, {facts.problem_analysis.rows} rows
- Split: {facts.risk_assessment.split}; {split_rows}
- Data fingerprint: `{trained["data_fingerprint"]}`

## Evaluation

{evaluated}

{metrics}

Verdict (phase {HELD_OUT_PHASE}): the model {verdict} the baseline on {ctx.metric}.

## Serving

`{package} serve --run <run>` answers `POST /predict` on 127.0.0.1:8000. Latency: {service}

## Monitoring

{monitoring}

## Risks and limitations

{risks}

## Decisions

{links}

## Reproduce

```bash
{package} train --config {EXPERIMENT}
{package} evaluate --config {EXPERIMENT}
```
"""


# Who does each phase, by its slug.
REVIEWERS = {
    phases.QUALITY_REVIEW.slug: quality_review,
    phases.FIXES_AND_VERIFICATION.slug: fixes_and_verification,
    phases.SUMMARY.slug: summary,
}
