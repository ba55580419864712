"""Offline phases 1-6 (Discovery and Design): each role an analyst using the project's CLI.

Every number in a report is measured on the user's data by the project's own tools
(`profile`, `risks`, `bakeoff`); the rules that turn measurements into decisions are here,
stated in the ADRs they produce. Deterministic and network-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ... import phases
from ...adr import Option, table
from ...phases import (
    DataArchitectureFacts,
    DesignApprovalFacts,
    InfrastructureDesignFacts,
    ModelArchitectureFacts,
    ProblemAnalysisFacts,
    RiskAssessmentFacts,
)
from ..base import Context, Report, approval_prompt
from . import scale, series, tradeoffs
from .build import EXPERIMENT
from .common import (
    BAKEOFF_PHASE,
    BLIND_SPOTS,
    EXPERIMENT_PHASE,
    FACT_CHECK_PHASE,
    HELD_OUT_PHASE,
    WEIGHED,
    fmt,
    limit,
)

SIMPLICITY = ("baseline", "pragmatic", "sota")  # ties go to the earlier one
Analyst = Callable[[Context], Report]


def _label_order(label: str) -> tuple[int, float | str]:
    """Sort labels as the project does: numbers by value, text alphabetically."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def dummy_baseline(metric: str, target: dict[str, Any], rows: int) -> float | None:
    """The exact score, on all rows, of predicting the class shares (or the mean) for every row.

    None where the profile does not determine it (MAE needs the deviations themselves).
    """
    return prior_scores(target, rows)[metric]


def prior_scores(target: dict[str, Any], rows: int) -> dict[str, float | None]:
    """Every metric of the target's task (one for each in the project's catalogue), scored on
    predicting the training distribution: the class shares, or the mean."""
    if "classes" not in target:
        std_population = target["std"] * math.sqrt((rows - 1) / rows)
        return {"rmse": std_population, "mae": None, "r2": 0.0}
    counts = target["classes"]
    total = sum(counts.values())
    shares = [counts[label] / total for label in sorted(counts, key=_label_order)]
    binary = len(shares) == 2
    positive = shares[-1] if binary else None  # the project scores the last class
    return {
        "roc_auc": 0.5,
        "pr_auc": positive if binary else sum(shares) / len(shares),
        "accuracy": max(shares),
        # The prior predicts the majority class for every row.
        "f1": (2 * positive / (1 + positive) if positive > 0.5 else 0.0) if binary else None,
        "log_loss": -sum(share * math.log(share) for share in shares if share > 0),
    }


def problem_analysis(ctx: Context) -> Report:
    answers, metric = ctx.answers, ctx.metric
    profile = ctx.project.cli("profile", *ctx.overrides())
    baseline = dummy_baseline(metric, profile["target"], profile["rows"])
    direction = "higher" if profile["primary_metric"]["higher_is_better"] else "lower"
    constraints = list(answers.get("constraints") or [])
    limits = [
        f"deployment: {answers.get('deployment_target', 'batch')}",
        limit("latency per prediction", answers.get("max_latency_ms"), "ms"),
        limit("model size", answers.get("max_model_mb"), "MB"),
        f"interpretability: {answers.get('interpretability', 'preferred')}",
    ]
    catalogue = ctx.project.catalogue
    scored = catalogue.task_metrics(ctx.task)  # the metrics of the task it scores
    alternatives = [m for m in scored if m in WEIGHED and m != metric]
    loaded = f"Loaded capsule: {ctx.capsule}\n\n" if ctx.capsule else ""
    return Report(
        title=f"Problem analysis: {answers['task_type']} of {answers['target']}",
        context=(
            f"{loaded}Goal: {answers.get('goal', '')}\n\n"
            f"Data: `{answers['data_source']}`, {profile['rows']} rows, {profile['features']}"
            f" features; target `{answers['target']}` ({answers['task_type']})."
        ),
        drivers=[f"primary metric {metric} ({direction} is better)", *limits, *constraints],
        options=[
            Option(
                metric,
                "the metric the answers name",
                [f"dummy baseline measured at {fmt(baseline)}"],
                [],
            ),
            *(
                Option(m, "an alternative metric", [], ["not the metric the answers name"])
                for m in alternatives
            ),
        ],
        chosen=metric,
        because=(
            f"the answers name it; success means beating the dummy baseline ({fmt(baseline)},"
            " the score of predicting the training distribution) with the whole 95% confidence"
            " interval of the held-out score."
        ),
        good=[f"a measured bar: {metric} must be {direction} than {fmt(baseline)}"],
        bad=[
            f"{metric} {BLIND_SPOTS[metric]}; phase {HELD_OUT_PHASE} reports the"
            " other metrics beside it"
        ],
        confirmation=f"Phase {HELD_OUT_PHASE} evaluates the chosen model on held-out rows"
        " against this baseline.",
        more="Known risks from the answers: " + ("; ".join(answers.get("risks") or []) or "none"),
        facts=ProblemAnalysisFacts(
            baseline=baseline, rows=profile["rows"], target=profile["target"]
        ),
    )


def data_architecture(ctx: Context) -> Report:
    profile = ctx.project.cli("profile", *ctx.overrides())
    target = ctx.answers["target"]
    features = [c for c in profile["schema"] if c["name"] != target]
    numeric = [
        c for c in features if c["dtype"].startswith(("Int", "UInt", "Float", "Date", "Bool"))
    ]
    text = [c for c in features if c not in numeric]
    missing = [c for c in features if c["missing"]]
    rows_with_gaps = max((c["missing"] for c in missing), default=0)
    share = rows_with_gaps / profile["rows"]
    imputed = (
        f"{profile['missing_cells']} missing cells in {len(missing)} features get a training"
        f" median and {len(missing)} indicator inputs, not a measured value"
        if missing
        else "the fitted statistics must be saved and shipped with the model"
    )
    schema = table(
        ("feature", "type", "missing", "distinct"),
        [(c["name"], c["dtype"], c["missing"], c["unique"]) for c in features],
    )
    return Report(
        title="Data architecture: feature schema and preprocessing",
        context=(
            f"`{ctx.answers['data_source']}`: {profile['rows']} rows, {len(numeric)} numeric and"
            f" {len(text)} categorical features, {profile['missing_cells']} missing cells,"
            f" {profile['duplicate_rows']} duplicate rows, {profile['memory_mb']} MB in memory."
            f"\n\n{schema}"
        ),
        drivers=[
            "preprocessing must be fitted on training rows only",
            f"{len(missing)} features have missing values",
        ],
        options=[
            Option(
                "fitted pipeline",
                "median imputation with missing indicators, scaling,"
                " one-hot for text (codes for trees), fitted on the training split",
                ["keeps every row", "no statistics leak from validation or test rows"],
                [imputed],
            ),
            Option(
                "drop incomplete rows",
                "train only on complete rows",
                ["no value is imputed"],
                [f"loses at least {share:.1%} of rows"]
                if share
                else ["new data with a missing value could not be scored"],
            ),
        ],
        chosen="fitted pipeline",
        because=(
            "it keeps every row and is fitted inside the training split"
            + (
                f", while dropping incomplete rows would lose at least {share:.1%}."
                if share
                else "; there are no missing values to drop today, but new data may have them."
            )
        ),
        good=["one preprocessing path for training, evaluation and prediction"],
        bad=[imputed],
        confirmation="The project's test `preprocessing sees only training rows` checks it.",
        facts=DataArchitectureFacts(
            numeric=len(numeric), categorical=len(text), rows=profile["rows"]
        ),
    )


def split_scheme(risks: list[dict[str, Any]], task: str) -> tuple[str, str | None]:
    """How to split rows given the risks: by time when the data has dates, else by class.

    Returns the scheme and, for a temporal split the config does not set yet, its column.
    """
    for risk in risks:
        if risk["kind"] == "time_order":
            columns = risk.get("columns") or [None]  # 'info': data.time_column is already set
            return "temporal split", columns[0]
    return ("stratified split" if task == "classification" else "random split"), None


def risk_assessment(ctx: Context) -> Report:
    report = ctx.project.cli("risks", *ctx.overrides())
    risks = report["risks"]
    kinds = {risk["kind"] for risk in risks}
    split, split_column = split_scheme(risks, ctx.answers["task_type"])
    found = table(
        ("severity", "risk", "finding"), [(r["severity"], r["kind"], r["message"]) for r in risks]
    )
    scores = report["single_feature_scores"]
    strongest = max(scores.items(), key=lambda item: item[1]) if scores else ("none", float("nan"))
    return Report(
        title=f"Risk assessment: {len(risks)} data risks, {split}",
        context=(
            f"Measured on {report['rows']} rows by `risks`. Strongest single feature:"
            f" `{strongest[0]}` at {fmt(strongest[1])} on held-out rows (leakage is suspected"
            " at 0.99)." + (f"\n\n{found}" if risks else "\n\nNo risk crossed its threshold.")
        ),
        drivers=[
            "no row may inform both training and evaluation",
            *(r["message"] for r in risks if r["severity"] == "high"),
        ],
        options=[
            Option(
                "stratified split",
                "random, class shares kept in every split",
                ["fits independent rows"],
                ["leaks across time or groups"],
            ),
            Option(
                "grouped split",
                "rows sharing data.group_column stay together",
                ["no identity leaks across splits"],
                ["needs a group column"],
            ),
            Option(
                "temporal split",
                "train on the past, test on the future",
                ["no lookahead"],
                ["needs data.time_column"],
            ),
            Option("random split", "for regression targets", ["simple"], ["leaks like stratified"]),
        ],
        chosen=split,
        because=f"it fits the risks measured ({', '.join(sorted(kinds)) or 'none'})"
        + (
            f"; phase {EXPERIMENT_PHASE} sets data.time_column to `{split_column}`."
            if split_column
            else "."
        ),
        bad=[r["message"] for r in risks if r["severity"] in ("high", "medium")],
        confirmation=f"Phase {FACT_CHECK_PHASE}'s fact-checks test the validation scheme"
        " against these risks.",
        facts=RiskAssessmentFacts(
            risks=risks, split=split, split_column=split_column, kinds=sorted(kinds)
        ),
    )


def _eligible(ctx: Context, result: dict[str, Any]) -> str | None:
    """Why a candidate breaks a constraint, or None if it meets them all."""
    answers = ctx.answers
    latency, size = answers.get("max_latency_ms") or 0, answers.get("max_model_mb") or 0
    readable = [model for model, (yes, _) in tradeoffs.READABLE.items() if yes]
    if answers.get("interpretability") == "required" and result["model"] not in readable:
        only = " or ".join(readable)
        return f"interpretability is required and only the {only} model is directly readable"
    if latency and result["latency_ms_single_row"] > latency:
        return f"one prediction takes {fmt(result['latency_ms_single_row'], 2)} ms > {latency} ms"
    if size and result["size_kb"] / 1024 > size:
        return f"the model takes {result['size_kb'] / 1024:.2f} MB > {size} MB"
    return None


def choose(ctx: Context, bakeoff: dict[str, Any], excluded: set[str]) -> tuple[str, str]:
    """The candidate to recommend and the rule that picked it.

    Rule: drop candidates that break a constraint or that the user rejected; take the best mean
    score; when interpretability is preferred, take the simplest candidate whose mean is within
    one standard deviation of the best (baseline, then pragmatic, then state of the art).
    """
    results = {
        name: r
        for name, model in ctx.candidates.items()
        for r in bakeoff["results"]
        if r["model"] == model
    }
    open_ = {n: r for n, r in results.items() if n not in excluded and _eligible(ctx, r) is None}
    if not open_:
        raise ValueError("no candidate meets the constraints and the rejections")
    sign = 1 if bakeoff["higher_is_better"] else -1
    best = max(open_, key=lambda name: sign * open_[name]["mean"])
    if ctx.answers.get("interpretability", "preferred") == "preferred":
        margin = open_[best]["std"]
        close = [
            n
            for n in SIMPLICITY
            if n in open_ and sign * (open_[best]["mean"] - open_[n]["mean"]) <= margin
        ]
        if close[0] != best:
            return close[0], (
                f"its mean {bakeoff['metric']} is within one standard deviation"
                f" ({fmt(margin)}) of the best ({best}), and interpretability is preferred"
            )
    return best, f"it has the best mean {bakeoff['metric']} among the candidates that qualify"


def trade(ctx: Context, field: tradeoffs.Field, chosen: str, excluded: set[str]) -> str:
    """What the choice is for, when it is not the best mean: the reason a reader weighs the gap
    against."""
    top, _ = field.gap(chosen)
    problem = _eligible(ctx, field.results[top]) or (
        "rejected at the design gate" if top in excluded else None
    )
    if problem:
        return f"a model that qualifies ({top}: {problem})"
    readable = " a person can read" if tradeoffs.READABLE[ctx.candidates[chosen]][0] else ""
    return f"a simpler model{readable}, as interpretability is preferred"


def candidate_options(ctx: Context, field: tradeoffs.Field, excluded: set[str]) -> list[Option]:
    """The three candidates as options, each with its measured pros and cons."""
    options = []
    for name, model in ctx.candidates.items():
        r = field.results[name]
        pros, cons = tradeoffs.assess(field, name)
        problem = _eligible(ctx, r) or ("rejected at the design gate" if name in excluded else None)
        summary = (
            f"{model}: {field.metric} {fmt(r['mean'])} ± {fmt(r['std'])} over"
            f" {len(r.get('folds') or []) or 'the'} {field.unit}s"
        )
        options.append(Option(name, summary, pros, [problem, *cons] if problem else cons))
    return options


def model_architecture(ctx: Context) -> Report:
    bakeoff = ctx.project.cli("bakeoff", *ctx.overrides())
    excluded = ctx.excluded
    chosen, rule = choose(ctx, bakeoff, excluded)
    candidates = ctx.candidates
    field = tradeoffs.Field.of(bakeoff, ctx.facts.problem_analysis.baseline, candidates)
    results = table(
        (
            "candidate",
            "model",
            f"{bakeoff['metric']} mean ± std",
            "fit s",
            "latency ms (1 row)",
            "size KB",
        ),
        [
            (
                name,
                model,
                f"{fmt(r['mean'])} ± {fmt(r['std'])}",
                f"{r['fit_seconds']:.2f}",
                f"{r['latency_ms_single_row']:.2f}",
                f"{r['size_kb']:.1f}",
            )
            for name, model in candidates.items()
            for r in [field.results[name]]
        ],
    )
    good, bad = tradeoffs.given_up(field, chosen, trade(ctx, field, chosen, excluded))
    inputs = "\n\n".join(f"Rejected before: {reason}" for reason in ctx.rejections)
    measured = (
        series.bakeoff_context(bakeoff, candidates, field.results)
        if ctx.forecasting
        else f"Three candidates cross-validated with {bakeoff['folds']} folds on"
        f" {bakeoff['rows']} non-test rows by `bakeoff`:\n\n{results}"
    )
    return Report(
        title=f"Model architecture: {chosen} ({candidates[chosen]})",
        context=measured + (f"\n\n{inputs}" if inputs else ""),
        drivers=[
            f"{bakeoff['metric']} ({'higher' if bakeoff['higher_is_better'] else 'lower'}"
            " is better)",
            f"interpretability: {ctx.answers.get('interpretability')}",
            limit("latency limit", ctx.answers.get("max_latency_ms"), "ms"),
            limit("size limit", ctx.answers.get("max_model_mb"), "MB"),
        ],
        options=candidate_options(ctx, field, excluded),
        chosen=chosen,
        because=rule + ".",
        good=good,
        bad=bad,
        confirmation=f"Phase {HELD_OUT_PHASE} trains it fully and evaluates it on the"
        + (" held-out origins." if ctx.forecasting else " held-out rows."),
        more="Rule: drop candidates that break a constraint or were rejected at the gate; take"
        " the best mean; with interpretability preferred, take the simplest candidate within one"
        " standard deviation of the best. Each option's pros and cons compare it with the best"
        " candidate on that measure.",
        facts=ModelArchitectureFacts(chosen=chosen, model=candidates[chosen], bakeoff=bakeoff),
    )


def batch_size(train_rows: int, ceiling: int) -> int:
    """The largest power of two that gives at least 8 optimizer steps an epoch, 16 to ceiling."""
    size = 16
    while size * 2 <= min(ceiling, train_rows // 8):
        size *= 2
    return min(size, ceiling)


def fact_checks(risks: RiskAssessmentFacts, metric: str) -> list[tuple[str, bool, str]]:
    """The data scientists' checks of the design against the risks: name, passed, evidence."""
    kinds = risks.kinds
    return [
        (
            "validation scheme fits the data",
            not ("time_order" in kinds and risks.split != "temporal split"),
            f"split: {risks.split}; risks: {', '.join(kinds) or 'none'}",
        ),
        (
            "metric fits the class balance",
            not ("imbalance" in kinds and metric == "accuracy"),
            f"metric {metric}; imbalance " + ("found" if "imbalance" in kinds else "not found"),
        ),
        (
            "no leakage suspect left in the features",
            "leakage" not in kinds,
            "single-feature scores below 0.99"
            if "leakage" not in kinds
            else "a feature predicts the target almost alone",
        ),
    ]


def infrastructure_design(ctx: Context) -> Report:
    profile, risks = ctx.facts.data_architecture, ctx.facts.risk_assessment
    default = ctx.config()
    tracking = default["tracking"]["backend"]
    rows = profile.rows
    width = profile.numeric * 2 + profile.categorical * 32  # values + missing flags, one-hot
    memory_mb = rows * width * 4 / 2**20
    train_rows = int(rows * (1 - default["data"]["test_size"] - default["data"]["val_size"]))
    batch = batch_size(train_rows, default["train"]["batch_size"])
    units = width + sum(default["model"]["mlp"]["hidden"])
    step_kb = batch * units * 4 * 3 / 1024  # activations, their gradients, one copy for the loss
    sized = scale.measure(ctx.project, memory_mb)
    package = ctx.project.package
    command = sized.train_command(package, EXPERIMENT)
    chosen = option_name(sized.stream, sized.processes)
    checks = fact_checks(risks, ctx.metric)
    failed = [name for name, passed, _ in checks if not passed]
    checked = table(
        ("check", "result", "evidence"),
        [(name, "pass" if ok else "FAIL", why) for name, ok, why in checks],
    )
    return Report(
        title=f"Infrastructure design: tracking, checkpoints, {chosen}",
        context=(
            f"{measured_scale(ctx, sized, width)}\n\nRule: {scale.rule()}.\n\n"
            f"Decided: {chosen} (`{scale.STORAGE_KEY}: {sized.storage}`)."
            f" Train with `{command}`; `{scale.STORAGE_KEY}: auto` picks {sized.storage} by the"
            f" same rule, and `{scale.STORAGE_KEY}=stream` or `=memory` on the command line forces"
            " either."
            + (
                ""
                if ctx.facts.model_architecture.model == "mlp"
                else f" The recommended {ctx.facts.model_architecture.model} is fitted by"
                " scikit-learn in one process; streaming and DDP apply when the mlp trains."
            )
            + f"\n\nBatch size {batch}: about {train_rows} training rows, and the rule takes the"
            " largest power of two that still gives at least 8 optimizer steps an epoch"
            f" (16 to the default {default['train']['batch_size']}; with DDP it stays the global"
            " batch, split across the ranks). A step holds about"
            f" {step_kb:.0f} KB of activations ({units} units a row), so memory does not"
            " limit the batch."
            f"\n\nFact-checks:\n\n{checked}"
        ),
        drivers=[
            "runs must be reproducible and resumable",
            f"tracking: {tracking}",
            f"data: {memory_mb:.2f} MB in memory against {limit_text(sized)}",
            f"accelerators: {sized.devices.text}",
        ],
        options=scale_options(sized, package),
        chosen=chosen,
        because=(
            f"the data takes {memory_mb:.2f} MB, "
            + ("more" if sized.stream else "no more")
            + f" than {limit_text(sized)}; accelerators: {sized.devices.text}."
        ),
        good=[
            f"batch size {batch}: at least 8 optimizer steps an epoch on {train_rows} rows",
            "checkpoints every epoch (last.pt, best.pt) written atomically; exact resume",
            f"{tracking} tracking with the config, metrics, git commit and data fingerprint",
            f"one command trains it: `{command}`",
        ],
        bad=[f"fact-check failed: {name}" for name in failed] + [headroom(sized)],
        confirmation="The fact-checks above; a failed check is listed for the design gate.",
        facts=InfrastructureDesignFacts(
            memory_mb=memory_mb,
            failed_checks=failed,
            tracking=tracking,
            batch_size=batch,
            train_rows=train_rows,
            storage=sized.storage,
            processes=sized.processes,
            devices=sized.devices.count,
            command=command,
        ),
    )


def measured_scale(ctx: Context, sized: scale.Scale, width: int) -> str:
    """What phase 5 measured: the data's bytes in memory (and on disk), the machine's memory,
    the accelerators."""
    source = str(ctx.answers["data_source"])
    on_disk = scale.file_mb(ctx.project.root, source)
    rows = ctx.facts.data_architecture.rows
    return (
        f"Measured: the data is {rows} rows (counted by `profile`) x about {width}"
        f" model inputs x 4 bytes (float32) = {sized.data_mb:.2f} MB in memory"
        + (f"; `{source}` takes {on_disk:.2f} MB on disk" if on_disk is not None else "")
        + ". "
        + (
            f"This machine has {sized.ram_mb:.0f} MB of physical memory (os.sysconf), so"
            f" 1/{scale.STREAM_SHARE} of it is {sized.limit_mb:.0f} MB."
            if sized.ram_mb is not None and sized.limit_mb is not None
            else "This machine's physical memory cannot be read, so the data stays in memory."
        )
        + f" Accelerators: {sized.devices.text} (`torch.cuda.device_count()` run by the"
        " project's python)."
    )


def limit_text(sized: scale.Scale) -> str:
    if sized.limit_mb is None:
        return "an unknown share of memory"
    return f"1/{scale.STREAM_SHARE} of memory ({sized.limit_mb:.0f} MB)"


def headroom(sized: scale.Scale) -> str:
    """What the decision leaves open: how far the data may grow before the other storage."""
    if sized.limit_mb is None:
        return "the machine's memory is unknown: watch the training process's memory"
    if sized.stream:
        return "streaming reads every epoch from disk: each epoch pays the file's read and decode"
    growth = sized.limit_mb / max(sized.data_mb, 1e-6)
    return (
        f"data past about {sized.limit_mb:.0f} MB ({growth:.0f}x today's) needs"
        f" `{scale.STORAGE_KEY}: stream`; `auto` switches by itself"
    )


def option_name(stream: bool, processes: int) -> str:
    storage = "streamed batches" if stream else "in-memory tensors"
    return f"{storage}, " + (f"DDP over {processes} processes" if processes > 1 else "one process")


def scale_options(sized: scale.Scale, package: str) -> list[Option]:
    """The chosen storage and process count, beside the other storage and the other process
    count, each with what the measurements say for and against it."""
    devices = sized.devices.count
    memory = Option(
        option_name(False, sized.processes),
        "slice shuffled batches from tensors held in memory",
        [f"{sized.data_mb:.2f} MB fits under {limit_text(sized)}"] if not sized.stream else [],
        [f"{sized.data_mb:.2f} MB is more than {limit_text(sized)}"] if sized.stream else [],
    )
    streamed = Option(
        option_name(True, sized.processes),
        "read shuffled batches from the file on disk, memory bounded by the batch",
        ["memory stays bounded as the data grows"],
        [] if sized.stream else ["reads and decodes the file every epoch, for data that fits"],
    )
    if sized.processes > 1:
        parallel = Option(
            option_name(sized.stream, 1),
            f"`{scale.train_command(package, EXPERIMENT, 1)}`",
            ["no process group to start"],
            [f"leaves {devices - 1} of {devices} devices idle"],
        )
    else:
        ranks = max(devices, 2)
        parallel = Option(
            option_name(sized.stream, ranks),
            f"`{scale.train_command(package, EXPERIMENT, ranks)}`",
            ["each rank takes its share of every global batch"],
            [
                "no accelerator: the ranks share this machine's cores, one thread each, and"
                " all-reduce the gradients every step"
                if devices == 0
                else "one device: a second rank would share it"
            ],
        )
    chosen, alternative = (streamed, memory) if sized.stream else (memory, streamed)
    return [chosen, alternative, parallel]


def design_approval(ctx: Context) -> Report:
    facts = ctx.facts
    model, pipeline = facts.model_architecture, facts.infrastructure_design
    baseline = facts.problem_analysis.baseline
    field = tradeoffs.Field.of(model.bakeoff, baseline, ctx.candidates)
    options = candidate_options(ctx, field, ctx.excluded)
    for option in options:
        if option.name == model.chosen:
            option.pros.insert(0, f"recommended by Phase {BAKEOFF_PHASE}")
    reason = trade(ctx, field, model.chosen, ctx.excluded)
    good, bad = tradeoffs.given_up(field, model.chosen, reason)
    failed = pipeline.failed_checks
    bar = (
        f"{series.reference_name(ctx)}, {series.baseline_text(ctx)}"
        if ctx.forecasting
        else f"a dummy baseline of {fmt(baseline)}"
    )
    training = (
        "truncated-BPTT training on in-memory series"
        if ctx.forecasting
        else ("streamed" if pipeline.storage == "stream" else "in-memory")
        + " training"
        + (f" on {pipeline.processes} processes (DDP)" if pipeline.processes > 1 else "")
    )
    return Report(
        title=f"Design approval: {model.chosen} ({model.model})",
        context=(
            f"The design of phases {phases.span(phases.designed())}: metric {ctx.metric}"
            f" against {bar}; {facts.risk_assessment.split};"
            f" candidate {model.chosen} ({model.model}); {training} with"
            f" {pipeline.tracking} tracking."
            + (f"\n\nFailed fact-checks: {', '.join(failed)}." if failed else "")
            + f"\n\n{approval_prompt()}"
        ),
        drivers=["the user decides before any code changes"],
        options=options,
        chosen=model.chosen,
        because=f"Phase {BAKEOFF_PHASE} recommends it by the rule stated there.",
        good=good,
        bad=bad,
        confirmation="Recorded when the user approves.",
        facts=DesignApprovalFacts(recommended=model.chosen),
        status="proposed",
    )


def by_task(tabular: Analyst, forecasting: Analyst) -> Analyst:
    """The analyst of a phase for the project's task: series.py's for a forecasting one."""

    def analyse(ctx: Context) -> Report:
        return (forecasting if ctx.forecasting else tabular)(ctx)

    return analyse


# Who does each phase, by its slug.
ANALYSTS = {
    phases.PROBLEM_ANALYSIS.slug: by_task(problem_analysis, series.problem_analysis),
    phases.DATA_ARCHITECTURE.slug: by_task(data_architecture, series.data_architecture),
    phases.RISK_ASSESSMENT.slug: by_task(risk_assessment, series.risk_assessment),
    phases.MODEL_ARCHITECTURE.slug: model_architecture,
    phases.INFRASTRUCTURE_DESIGN.slug: by_task(infrastructure_design, series.infrastructure_design),
    phases.DESIGN_APPROVAL.slug: design_approval,
}
