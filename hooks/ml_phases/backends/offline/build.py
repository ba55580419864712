"""Offline phases 7-9 (Implementation): engineers that write what the approved design needs.

The project already implements all three candidates, so the offline engineers do not rewrite
its modules: they write the experiment config that holds the approved design, tests that pin
it, and an integration test, then run the code for real (a short training run twice, a
prediction and an export) and report what they measured. The engine keeps a phase's files
only if the tests its change can affect pass. A forecasting project gets its own tests
(files/forecasting/): its config has no batch size, class weights or split columns to pin,
and its predictions are forecasts with intervals.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from string import Template
from typing import Any

import yaml

from ... import phases
from ...adr import Option, records, table
from ...changes import Workspace
from ...layout import SMOKE, adr_dir
from ...phases import IntegrationFacts, ModelImplementationFacts, TrainingImplementationFacts
from ...project import TestRun
from ..base import Context, Report, with_keys
from . import serving
from .common import BAKEOFF_PHASE, EXPERIMENT_PHASE, SMOKE_PHASE, fmt

FILES = Path(__file__).with_name("files")
EXPERIMENT = "configs/experiment.yaml"


def workspace(ctx: Context) -> Workspace:
    if ctx.workspace is None:
        raise RuntimeError("a code-writing phase runs with a workspace")
    return ctx.workspace


def py_literal(value: Any) -> str:
    """A scalar as Python source the way ruff formats it (double-quoted strings)."""
    if value is None or isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def write_from_template(ctx: Context, name: str, path: str, **values: str) -> None:
    folder = FILES / "forecasting" if ctx.forecasting else FILES
    text = Template((folder / f"{name}.tmpl").read_text(encoding="utf-8"))
    target = ctx.project.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text.substitute(package=ctx.project.package, **values), encoding="utf-8")


def tests_line(run: TestRun | None) -> str:
    if run is None:
        return "No file the tests read changed, so no test needed running."
    return f"Tests rerun for this change: {run.describe()}."


def differs(default: Any, value: Any) -> bool:
    """Whether an answer changes a default: text answers compare as text, others as values."""
    return str(default) != value if isinstance(value, str) else default != value


def design_changes(ctx: Context, default: dict[str, Any]) -> dict[str, Any]:
    """The config keys the approved design sets in the default config, with their values.

    A forecasting config has no split column, class weights or batch size: its design is the
    data answers and the model (its validation is walk-forward by construction)."""
    risks, pipeline = ctx.facts.risk_assessment, ctx.facts.infrastructure_design
    # The data answers (a capsule may have changed them), where they differ from the defaults.
    changes: dict[str, Any] = {
        key: value
        for key, value in ctx.data_answers().items()
        if differs(_get(default, key), value)
    }
    changes["model.name"] = ctx.candidates[ctx.approved or ctx.facts.model_architecture.chosen]
    if ctx.forecasting:
        return changes
    if risks.split_column:
        changes["data.time_column"] = risks.split_column
    if "imbalance" in risks.kinds:
        changes["loss.class_weights"] = "balanced"
    if changes["model.name"] == "mlp":
        changes["train.batch_size"] = pipeline.batch_size
    return changes


def experiment_config(
    default: dict[str, Any], changes: dict[str, Any], gate: str, package: str
) -> str:
    raw = with_keys(default, changes)
    listed = "\n".join(f"#   {key}: {value}" for key, value in changes.items())
    header = (
        f"# The approved design ({gate}): configs/default.yaml with these keys changed:\n"
        f"{listed}\n"
        f"# Written by ml-phases in phase {EXPERIMENT_PHASE}; tests/test_experiment.py"
        " checks it holds the design.\n"
        f"# Train it: python -m {package} train --config {EXPERIMENT}\n"
    )
    return header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def gate_adr(ctx: Context) -> str:
    """The gate's record, as the experiment config and its test cite it."""
    root, number = ctx.project.root, phases.gate().number
    path = records(adr_dir(root)).get(number)
    return path.relative_to(root).as_posix() if path else f"ADR {number:04d}"


def model_implementation(ctx: Context) -> Report:
    default = ctx.project.config()
    changes = design_changes(ctx, default)
    gate = gate_adr(ctx)
    config_text = experiment_config(default, changes, gate, ctx.project.package)
    (ctx.project.root / EXPERIMENT).write_text(config_text, encoding="utf-8")
    pinned = {"task": default["task"], "primary_metric": default["primary_metric"], **changes}
    approved = "\n".join(f"    {json.dumps(key)}: {py_literal(v)}," for key, v in pinned.items())
    write_from_template(
        ctx, "test_experiment.py", "tests/test_experiment.py", gate=gate, approved=approved
    )
    tests = workspace(ctx).verify()
    model = changes["model.name"]
    implemented = "the project's forecasters module" if ctx.forecasting else "`models.py`"
    measured = "backtested walk-forward" if ctx.forecasting else "cross-validated"
    rows = table(
        ("key", "default", "experiment"),
        [(f"`{key}`", _get(default, key), value) for key, value in changes.items()],
    )
    return Report(
        title=f"Model implementation: the experiment config for {model}",
        context=(
            f"The approved design ([ADR {phases.gate().number:04d}]({Path(gate).name})) trains"
            f" the `{model}` model,"
            f" which {implemented} already implements and phase {BAKEOFF_PHASE}"
            f" {measured} through the same"
            " code. What the design"
            f" changes from the defaults is in `{EXPERIMENT}`:\n\n"
            f"{rows}\n\n"
            f"`tests/test_experiment.py` pins these values and checks the columns the config"
            f" names exist in the data. {tests_line(tests)}"
        ),
        drivers=[
            "one file reproduces the approved design",
            "the defaults of every command stay as they were",
        ],
        options=[
            Option(
                "experiment config",
                f"a separate `{EXPERIMENT}` with the design's keys changed",
                ["the design is a visible diff against the defaults", "pinned by tests"],
                [],
            ),
            Option(
                "edit the defaults",
                "change configs/default.yaml",
                [],
                ["every command's defaults change", "the design is no longer a visible diff"],
            ),
            Option(
                "new model code",
                "write another model module",
                [],
                [f"{implemented} already implements {model}, measured in phase {BAKEOFF_PHASE}"],
            ),
        ],
        chosen="experiment config",
        because="it records the approved design as data next to the defaults and tests it.",
        good=[f"`{EXPERIMENT}` and `tests/test_experiment.py`"],
        confirmation=tests_line(tests),
        facts=ModelImplementationFacts(config=EXPERIMENT, changes=changes, model=model),
    )


def _get(raw: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def smoke_train(ctx: Context, name: str, *overrides: str) -> tuple[dict[str, Any], float]:
    """A short training run of the experiment under .ml-flow/smoke/<name>, and its seconds.

    Its tracking stays local too: the store under the run's folder, W&B offline.
    """
    epochs = min(3, int(_get(ctx.project.config(EXPERIMENT), "train.epochs") or 3))
    started = time.perf_counter()
    summary = ctx.project.cli(
        "train",
        f"train.epochs={epochs}",
        f"output_dir={SMOKE}/{name}",
        "tracking.uri=null",
        *overrides,
        config=EXPERIMENT,
        env={"MLFLOW_TRACKING_URI": None, "WANDB_MODE": "offline"},
    )
    return summary, time.perf_counter() - started


def parts(ctx: Context, rows: dict[str, int]) -> str:
    """The split the training summary reports: rows, or a forecasting project's time steps."""
    if ctx.forecasting:
        return f"time steps: {rows['train']} train, {rows['val']} calibration, {rows['test']} test"
    return f"rows: {rows['train']} train, {rows['val']} validation, {rows['test']} test"


def same_score(a: float | None, b: float | None) -> bool:
    """Equal, counting two NaN scores (a split without some class) as the same."""
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def training_implementation(ctx: Context) -> Report:
    metric = f"val_{ctx.metric}"
    first, first_s = smoke_train(ctx, "train-a")
    second, second_s = smoke_train(ctx, "train-b", "tracking.backend=none")
    same = same_score(first[metric], second[metric]) and (
        first["data_fingerprint"] == second["data_fingerprint"]
    )
    run = Path(first["run_dir"])
    checkpoints = sorted(p.name for p in (ctx.project.root / run).glob("*.pt"))
    tests = workspace(ctx).verify()
    rows = first["rows"]
    trains_in_epochs = "a gru" if ctx.forecasting else "an mlp"
    none_written = f"none (not {trains_in_epochs})"
    runs = table(
        ("run", "epochs", metric, "seconds (process included)", "tracking"),
        [
            (name, s["epochs_run"], fmt(s[metric]), f"{seconds:.1f}", s["tracking"])
            for name, s, seconds in (("a", first, first_s), ("b", second, second_s))
        ],
    )
    return Report(
        title=f"Training implementation: {first['model']} trains and repeats exactly"
        if same
        else f"Training implementation: {first['model']} trains, but runs differ",
        context=(
            f"Two short runs of `{EXPERIMENT}` with the same seed, under `{SMOKE}/`"
            f" ({parts(ctx, rows)};"
            f" data fingerprint `{first['data_fingerprint']}`):\n\n"
            f"{runs}\n\n"
            f"Checkpoints written: {', '.join(checkpoints) or none_written}."
            f" {tests_line(tests)}"
        ),
        drivers=[
            "a run must be repeatable from its config and seed",
            "a run must be tracked and resumable",
        ],
        options=[
            Option(
                "keep the project's pipeline",
                "train.py, data.py and tracking.py as they are",
                [
                    f"two runs gave {'the same' if same else 'different'} {metric}",
                    f"tracked: {first['tracking']}",
                ],
                [] if same else ["runs are not repeatable: see the table"],
            ),
            Option(
                "change the pipeline",
                "rewrite the loop, loading or tracking",
                [],
                ["no measurement here calls for it"],
            ),
        ],
        chosen="keep the project's pipeline",
        because="the short runs train, track and checkpoint the approved model"
        + (", and repeat exactly." if same else "; the difference between runs is listed."),
        bad=[] if same else [f"{metric} differs between runs with one seed"],
        confirmation=tests_line(tests),
        facts=TrainingImplementationFacts(
            run=str(run), repeatable=same, epochs=first["epochs_run"]
        ),
    )


def exports(exportable: tuple[str, ...]) -> str:
    """'only the mlp exports', 'only the mlp and gru export': what `export` refuses by."""
    verb = "exports" if len(exportable) == 1 else "export"
    return f"only the {' and '.join(exportable)} {verb}"


def integration(ctx: Context) -> Report:
    project = ctx.project
    write_from_template(ctx, "test_integration.py", "tests/test_integration.py")
    run = ctx.facts.training_implementation.run
    started = time.perf_counter()
    predicted = project.cli(
        "predict", ctx.answers["data_source"], "--output", f"{SMOKE}/predictions.csv", "--run", run
    )
    predict_s = time.perf_counter() - started
    model = ctx.facts.model_implementation.model
    exportable = ctx.exportable
    exported = project.cli("export", "--run", run) if model in exportable else None
    bench = serving.benchmark(ctx, run)
    budget = serving.budget_ms(ctx.answers)
    meets = serving.meets_budget(ctx, bench)
    latency = serving.verdict(ctx, bench)
    tests = workspace(ctx).verify()
    per_call = (
        f"every call pays a process start and a model load: `predict` took {predict_s:.2f} s"
        f" for {predicted['rows']} rows, so one row at a time is slow"
    )
    artifact = "saved model" if ctx.forecasting else "predictor.joblib"
    ours = bench["servers"]["project"]
    checks = [
        forecast_check(ctx, predicted, predict_s)
        if ctx.forecasting
        else f"`predict`: all {predicted['rows']} rows of `{ctx.answers['data_source']}` in"
        f" {predict_s:.2f} s (process included)",
        f"`export`: torch.export program matches the model to {exported['max_abs_diff']:.1e}"
        if exported
        else f"`export`: not applicable, {exports(exportable)}; the run's {artifact} is the"
        " deployable artifact",
        f"`serve` (`{serving.BENCH}`, {bench['requests']} requests per level): {latency};"
        f" {ours['c1']['rps']:.0f} requests/s at concurrency 1, {ours['c8']['rps']:.0f} at 8,"
        f" {ours['batch_rows_per_s']:.0f} rows/s in batches of 1,000",
    ]
    written = (
        "forecasts the horizon with intervals, evaluates the held-out origins and their"
        f" interval coverage, and exports (or checks the export is refused for a model other"
        f" than the {' and '.join(exportable)})"
        if ctx.forecasting
        else "predicts 50 rows, evaluates the held-out rows and exports (or checks the export is"
        " refused for a scikit-learn model)"
    )
    server_bad = [] if meets is not False else [f"{latency}: the service misses its budget"]
    options = [
        Option(
            "batch predictions with the CLI",
            f"`predict` for files, `export` for the {' and '.join(exportable)}"
            if ctx.forecasting
            else "`predict` for files, `export` for the MLP",
            checks[:2],
            [per_call],
        ),
        Option(
            "the project's HTTP service",
            f"`{project.package} serve`: FastAPI, the model loaded once, requests validated"
            " against the training schema",
            [latency] if meets is not False else ["the model is loaded once, not on every call"],
            ["a server to run, secure and monitor", *server_bad],
        ),
    ]
    target = ctx.answers.get("deployment_target", "batch")
    chosen = options[1] if target == "realtime" else options[0]
    return Report(
        title="Integration: predict, serve and export from a trained run",
        context=(
            f"Smoke checks on the short run `{run}` of phase {SMOKE_PHASE}:\n\n"
            + "\n".join(f"* {check}" for check in checks)
            + f"\n\nServing latency, measured by `{serving.BENCH}` on this machine:\n\n"
            + serving.latency_table(bench)
            + "\n\n`tests/test_integration.py` trains the experiment for two epochs,"
            f" {written}, and starts the server to check its answers against `predict`."
            f" {tests_line(tests)}"
        ),
        drivers=[
            "a trained run must serve predictions the way users will call it",
            f"deployment target: {target}",
            f"latency budget: {f'{budget:g} ms per prediction' if budget else 'none'}",
        ],
        options=options,
        chosen=chosen.name,
        because=(
            f"the deployment target is {target};"
            + (
                " the service's latency was measured against the budget."
                if target == "realtime"
                else " files are predicted in batches, and the service stays available."
            )
        ),
        good=["`tests/test_integration.py`", latency],
        bad=[per_call] if chosen is options[0] else chosen.cons,
        confirmation=tests_line(tests),
        status="accepted" if meets is not False or target != "realtime" else "rejected",
        facts=IntegrationFacts(checks=checks, serving=bench, meets_budget=meets),
    )


def forecast_check(ctx: Context, predicted: dict[str, Any], seconds: float) -> str:
    """What the smoke forecast did: the horizon past the cut-off, with intervals."""
    return (
        f"`predict`: {predicted['horizon']} steps past {predicted['cutoff']} for each series of"
        f" `{ctx.answers['data_source']}`, {predicted['rows']} rows with"
        f" {predicted['level']:.0%} intervals, in {seconds:.2f} s (process included)"
    )


# Who does each phase, by its slug.
ENGINEERS = {
    phases.MODEL_IMPLEMENTATION.slug: model_implementation,
    phases.TRAINING_IMPLEMENTATION.slug: training_implementation,
    phases.INTEGRATION.slug: integration,
}
