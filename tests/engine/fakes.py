"""A generated project whose tools answer from tables: the engine's unit tests run on it.

`canned_project` writes the answers and the default config, and replaces the project's CLI,
its test runner and its other commands (ruff, the device count) with canned results, recording
each call. A value that is an exception is raised instead, to cut a phase off.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from ml_phases.adr import Option, Record
from ml_phases.backends.offline.scale import DEVICE_PROBE
from ml_phases.project import Project, TestRun

if TYPE_CHECKING:  # the stand-in project's tools import these tables without pytest
    import pytest

# The template's package: every project the engine's tests make carries its very catalogue.
PACKAGE = Path(__file__).resolve().parents[2] / "template/src/{{package_name}}"


def catalogue_source(task: str = "classification") -> Path:
    """The template's catalogue a project of this task gets: each family has its own, named
    for a Copier condition on task_type."""
    condition = "==" if task == "forecasting" else "!="
    return PACKAGE / f"{{% if task_type {condition} 'forecasting' %}}catalogue.py{{% endif %}}"


CATALOGUE = catalogue_source()

ANSWERS = {
    "package_name": "churn",
    "task_type": "classification",
    "data_source": "data/churn.csv",
    "target": "churned",
    "primary_metric": "roc_auc",
    "tracking": "mlflow",
    "interpretability": "preferred",
    "deployment_target": "batch",
    "max_latency_ms": 0,
    "max_model_mb": 0,
    "goal": "Predict churn",
    "constraints": [],
    "risks": [],
}
DEFAULT_CONFIG = {
    "task": "classification",
    "primary_metric": "roc_auc",
    "seed": 0,
    "output_dir": "outputs",
    "data": {"source": "data/churn.csv", "target": "churned", "test_size": 0.2, "val_size": 0.2},
    "model": {"name": "mlp", "mlp": {"hidden": [128, 128], "dropout": 0.1}},
    "loss": {"class_weights": "none"},
    "train": {"epochs": 60, "batch_size": 256},
    "tracking": {"backend": "mlflow", "experiment": "churn", "uri": None},
}
PROFILE = {
    "rows": 200,
    "columns": 3,
    "features": 2,
    "duplicate_rows": 0,
    "missing_cells": 5,
    "memory_mb": 0.01,
    "target": {"name": "churned", "missing": 0, "classes": {"0": 150, "1": 50}},
    "primary_metric": {"name": "roc_auc", "higher_is_better": True},
    "schema": [
        {"name": "tenure", "dtype": "Int64", "missing": 5, "unique": 60},
        {"name": "plan", "dtype": "String", "missing": 0, "unique": 3},
        {"name": "churned", "dtype": "Int64", "missing": 0, "unique": 2},
    ],
}
RISKS = {"rows": 200, "single_feature_scores": {"tenure": 0.71, "plan": 0.6}, "risks": []}


def bakeoff(
    scores: dict[str, tuple[float, float]], latency: float = 1.0, low_fold: float | None = None
) -> dict[str, Any]:
    """`bakeoff --json` with these (mean, std) scores; `low_fold` replaces the MLP's third fold."""

    def folds(model: str, mean: float, std: float) -> list[float]:
        values = [mean - std, mean, mean + std, mean - std / 2, mean + std / 2]
        if model == "mlp" and low_fold is not None:
            values[2] = low_fold
        return values

    return {
        "metric": "roc_auc",
        "higher_is_better": True,
        "folds": 5,
        "rows": 160,
        "best": "gbm",
        "results": [
            {
                "model": model,
                "mean": mean,
                "std": std,
                "folds": folds(model, mean, std),
                "fit_seconds": {"linear": 0.1, "gbm": 0.8, "mlp": 2.0}[model],
                "latency_ms_single_row": latency * (3 if model == "mlp" else 1),
                "size_kb": {"linear": 1.0, "gbm": 200.0, "mlp": 80.0}[model],
            }
            for model, (mean, std) in scores.items()
        ],
    }


BAKEOFF = bakeoff({"linear": (0.80, 0.02), "mlp": (0.84, 0.02), "gbm": (0.90, 0.01)})
TRAIN = {
    "run_dir": "outputs/runs/1-gbm",
    "model": "gbm",
    "task": "classification",
    "data_fingerprint": "abc123",
    "rows": {"train": 120, "val": 40, "test": 40},
    "epochs_run": 1,
    "best_epoch": 1,
    "val_roc_auc": 0.88,
    "seconds": 1.5,
    "tracking": "MLflow run 1 in file:///x",
}


def metric(value: float, baseline: float, low: float, high: float) -> dict[str, float]:
    return {
        "value": value,
        "low": low,
        "high": high,
        "baseline": baseline,
        "delta": value - baseline,
        "delta_low": low - baseline,
        "delta_high": high - baseline,
    }


def evaluation(roc_auc: dict[str, float], beats: bool) -> dict[str, Any]:
    """`evaluate --json` of a classifier with this ROC-AUC."""
    return {
        "run": "outputs/runs/1-gbm",
        "model": "gbm",
        "rows": 40,
        "confidence": 0.95,
        "primary_metric": "roc_auc",
        "primary": roc_auc,
        "beats_baseline": beats,
        "metrics": {"roc_auc": roc_auc, "accuracy": metric(0.8, 0.75, 0.7, 0.9)},
    }


EVALUATION = evaluation(metric(0.87, 0.5, 0.78, 0.94), beats=True)

# A forecasting project: weekly CO2 a year ahead, its tools' answers shaped like the contract.
FORECAST_ANSWERS = {
    **ANSWERS,
    "package_name": "co2cast",
    "task_type": "forecasting",
    "data_source": "sample:co2",
    "target": "target",
    "time_column": "time",
    "series_column": None,
    "covariates": [],
    "frequency": "1w",
    "season": 52,
    "horizon": 52,
    "primary_metric": "mase",
    "goal": "Forecast weekly CO2 a year ahead",
}
FORECAST_CONFIG = {
    "task": "forecasting",
    "primary_metric": "mase",
    "seed": 0,
    "output_dir": "outputs",
    "data": {
        "source": "sample:co2",
        "time_column": "time",
        "target": "target",
        "series_column": None,
        "known_covariates": [],
        "frequency": "1w",
        "season": 52,
    },
    "forecast": {
        "horizon": 52,
        "gap": 0,
        "level": 0.9,
        "test_size": 0.2,
        "calibration_size": 0.2,
    },
    "model": {
        "name": "gbm",
        "ets": {"damped": False},
        "gbm": {"max_iter": 100, "learning_rate": 0.05, "max_rows": 200000},
        "gru": {"hidden": 64, "layers": 1},
    },
    "train": {
        "epochs": 30,
        "min_steps": 600,
        "tbptt_steps": 64,
        "streams": 32,
        "lr": 0.003,
        "weight_decay": 0.0,
        "grad_clip": 1.0,
        "device": "auto",
        "threads": 1,
        "deterministic": True,
    },
    "evaluate": {"confidence": 0.95},
    "bakeoff": {"models": ["ets", "gbm", "gru"], "origins": 5},
    "tracking": {"backend": "mlflow", "experiment": "co2cast", "uri": None},
}
FORECAST_PROFILE = {
    "rows": 2284,
    "columns": 2,
    "features": 0,
    "duplicate_rows": 0,
    "missing_cells": 59,
    "memory_mb": 0.03,
    "target": {
        "name": "target",
        "missing": 59,
        "mean": 340.14,
        "std": 17.0,
        "min": 313.0,
        "max": 373.8,
    },
    "primary_metric": {"name": "mase", "higher_is_better": False},
    "schema": [
        {"name": "time", "dtype": "Date", "missing": 0, "unique": 2284},
        {"name": "target", "dtype": "Float64", "missing": 59, "unique": 1588},
    ],
    "series": {"column": None, "count": 1},
    "time": {
        "column": "time",
        "start": "1958-03-29",
        "end": "2001-12-29",
        "frequency": "1w",
        "steps": 2284,
        "gaps": {
            "count": 3,
            "missing_steps": 7,
            "first": [
                "1958-05-03 .. 1958-05-10 (2 steps)",
                "1959-01-03 .. 1959-01-17 (3 steps)",
                "1961-08-05 .. 1961-08-12 (2 steps)",
            ],
        },
        "missing_target": 59,
    },
    "seasonality": {"season": 52, "acf": 0.8731, "strength": 0.9612},
}
FORECAST_RISKS = {
    "rows": 2284,
    "single_feature_scores": {},
    "stationarity": {
        "adf": 0.8414,
        "adf_p": 0.9922,
        "kpss": 7.3541,
        "kpss_p": 0.01,
        "differenced_adf_p": 0.0001,
    },
    "risks": [
        {
            "kind": "non_stationary",
            "severity": "medium",
            "message": "target is not stationary: ADF p 0.9922, KPSS p 0.0100",
            "column": "target",
            "adf_p": 0.9922,
            "kpss_p": 0.01,
        },
        {
            "kind": "gaps",
            "severity": "low",
            "message": "3 gaps in the weekly grid (7 missing steps), forward-filled",
            "column": "time",
            "count": 3,
        },
    ],
}
# What `risks` finds in a series with covariates (macrodata's shape): a lookahead suspect and a
# declared known covariate that is observed, not planned.
COVARIATE_RISKS = {
    **FORECAST_RISKS,
    "single_feature_scores": {"realinv": 0.991, "cpi": 0.42},
    "risks": [
        *FORECAST_RISKS["risks"],
        {
            "kind": "lookahead",
            "severity": "high",
            "message": "realinv tracks the target 1 step ahead: |corr| 0.991",
            "column": "realinv",
            "lag": 1,
            "corr": 0.991,
        },
        {
            "kind": "unknown_covariate",
            "severity": "high",
            "message": "cpi is declared known in advance but looks observed (it follows shocks)",
            "column": "cpi",
        },
    ],
}
CUTOFFS = ["1991-01-05", "1992-01-04", "1993-01-02", "1994-01-01", "1994-12-31"]


def forecast_bakeoff(scores: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """`bakeoff --json` of a forecasting project with these (mean, std) MASE scores."""
    results = [
        {
            "model": model,
            "mean": mean,
            "std": std,
            "folds": [mean - std, mean, mean + std, mean - std / 2, mean + std / 2],
            "fit_seconds": {"ets": 0.3, "gbm": 1.1, "gru": 9.0}[model],
            "latency_ms_single_row": {"ets": 4.0, "gbm": 2.5, "gru": 1.5}[model],
            "size_kb": {"ets": 2.0, "gbm": 310.0, "gru": 60.0}[model],
        }
        for model, (mean, std) in scores.items()
    ]
    return {
        "metric": "mase",
        "higher_is_better": False,
        "folds": 5,
        "rows": 1828,
        "best": min(scores, key=lambda model: scores[model][0]),
        "results": results,
        "scheme": "walk-forward",
        "horizon": 52,
        "gap": 0,
        "cutoffs": CUTOFFS,
        "reference": {
            "model": "seasonal_naive",
            "mean": 1.0412,
            "std": 0.0831,
            "folds": [0.98, 1.12, 0.95, 1.07, 1.09],
        },
    }


FORECAST_BAKEOFF = forecast_bakeoff(
    {"ets": (0.6125, 0.0502), "gru": (0.7031, 0.0904), "gbm": (0.5417, 0.0411)}
)
FORECAST_TRAIN = {
    "run_dir": "outputs/runs/1-gbm",
    "model": "gbm",
    "task": "forecasting",
    "data_fingerprint": "co2f1",
    "rows": {"train": 1828, "val": 456, "test": 456},
    "epochs_run": 1,
    "best_epoch": 1,
    "val_mase": 0.5522,
    "seconds": 3.2,
    "tracking": "MLflow run 1 in file:///x",
    "horizon": 52,
    "season": 52,
    "frequency": "1w",
}


def forecast_evaluation(mase: dict[str, float], coverage: float, beats: bool) -> dict[str, Any]:
    """`evaluate --json` of a forecaster with this MASE and interval coverage."""
    return {
        "run": "outputs/runs/1-gbm",
        "model": "gbm",
        "rows": 405,
        "confidence": 0.95,
        "primary_metric": "mase",
        "primary": mase,
        "beats_baseline": beats,
        "metrics": {
            "mase": mase,
            "smape": metric(0.21, 0.38, 0.19, 0.23),
            "rmse": metric(0.81, 1.42, 0.74, 0.88),
            "mae": metric(0.66, 1.17, 0.6, 0.72),
        },
        "baseline_model": "seasonal_naive",
        "horizon": 52,
        "origins": 405,
        "coverage": {
            "level": 0.9,
            "value": coverage,
            "low": coverage - 0.03,
            "high": coverage + 0.03,
            "origins": 405,
        },
    }


FORECAST_EVALUATION = forecast_evaluation(metric(0.5731, 1.0412, 0.5214, 0.6248), 0.8716, True)


def latency(p50: float, p95: float, p99: float, rps: float) -> dict[str, float]:
    return {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "rps": rps}


# What benchmarks/bench_serve.py --json prints: our server only (phase 9 runs no MLflow).
BENCH_SERVE = {
    "run": ".ml-flow/smoke/runs/x",
    "model": "linear",
    "requests": 300,
    "servers": {
        "project": {
            "ready_s": 2.1,
            "c1": latency(1.9, 2.4, 3.1, 480.0),
            "c8": latency(14.0, 19.0, 22.0, 530.0),
            "batch_rows_per_s": 95000.0,
        }
    },
}


def drift(name: str, psi: float, p_value: float, flagged: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "numeric",
        "psi": psi,
        "test": "ks",
        "statistic": 0.05,
        "p_value": p_value,
        "missing_train": 0.0,
        "missing_new": 0.0,
        "unseen": [],
        "unseen_share": 0.0,
        "drift": flagged,
        "reasons": ["psi", "ks"] if flagged else [],
    }


# What `monitor --split val --json` prints: validation against training, no drift.
MONITOR = {
    "run": "outputs/runs/x",
    "source": "split:val",
    "rows": 200,
    "verdict": "no drift",
    "thresholds": {"psi": 0.2, "p_value": 0.01, "missing_rate": 0.1, "unseen_share": 0.01},
    "features": [drift("tenure", 0.061, 0.42), drift("plan", 0.02, 0.8)],
    "prediction": {"psi": 0.03, "test": "ks", "statistic": 0.04, "p_value": 0.7, "drift": False},
    "drifted": [],
    "plot": None,
}

GREEN = TestRun((), 12, 0, 0, 1.0)
RED = TestRun((), 11, 1, 0, 1.0, ("tests/test_experiment.py::test_x: assert 1 == 2",))


def completed(stdout: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, "")


def write_project(
    root: Path, answers: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> None:
    """The files of a generated project that the engine reads: answers, configs, modules (the
    catalogue the template's own for the project's task). The churn classifier by default."""
    answers, config = answers or ANSWERS, config or DEFAULT_CONFIG
    package = answers["package_name"]
    (root / "docs/adr").mkdir(parents=True)
    (root / "configs").mkdir()
    (root / f"src/{package}").mkdir(parents=True)
    for module in (
        "__init__",
        "config",
        "data",
        "errors",
        "evaluate",
        "models",
        "predict",
        "service",
        "train",
    ):
        (root / f"src/{package}/{module}.py").write_text(f'"""The {module} module."""\n')
    shutil.copy(catalogue_source(answers["task_type"]), root / f"src/{package}/catalogue.py")
    (root / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    shutil.copy(PACKAGE.parents[1] / ".gitignore", root / ".gitignore")  # the template's own
    (root / "configs/default.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def tables(task: str = "classification") -> dict[str, Any]:
    """What each tool answers: a command's --json output, the test run, ruff's output."""
    if task == "forecasting":
        answers: dict[str, Any] = {
            "profile": FORECAST_PROFILE,
            "risks": FORECAST_RISKS,
            "bakeoff": FORECAST_BAKEOFF,
            "train": FORECAST_TRAIN,
            "evaluate": FORECAST_EVALUATION,
            "predict": {
                "rows": 52,
                "output": ".ml-flow/smoke/predictions.csv",
                "horizon": 52,
                "cutoff": "2001-12-29",
                "level": 0.9,
            },
        }
    else:
        answers = {
            "profile": PROFILE,
            "risks": RISKS,
            "bakeoff": BAKEOFF,
            "train": TRAIN,
            "evaluate": EVALUATION,
            "predict": {"rows": 200},
        }
    return {
        **answers,
        "export": {"max_abs_diff": 0.0},
        "bench_serve": BENCH_SERVE,
        "monitor": MONITOR,
        "devices": completed("0\n"),  # torch.cuda.device_count() on a CPU machine
        "tests": GREEN,
        "ruff check": completed("[]"),
        "ruff format": completed(""),
    }


def canned_project(
    root: Path, monkeypatch: pytest.MonkeyPatch, task: str = "classification"
) -> dict[str, Any]:
    """A project folder at root with answers and configs, and tools that answer from tables:
    the churn classifier, or (task "forecasting") the weekly CO2 forecaster."""
    if task == "forecasting":
        write_project(root, FORECAST_ANSWERS, FORECAST_CONFIG)
    else:
        write_project(root)
    calls: list[str] = []
    overrides: list[list[str]] = []
    commands: list[tuple[str, list[str], str]] = []  # each CLI call: command, arguments, config
    outputs: dict[str, Any] = tables(task)

    def answer(name: str) -> Any:
        calls.append(name)
        value = outputs[name]
        if isinstance(value, BaseException):
            raise value
        return copy.deepcopy(value)

    def cli(
        self: Project, command: str, *given: str, config: str = "", env=None, verdicts=()
    ) -> Any:
        overrides.append(list(given))
        commands.append((command, list(given), config))
        return answer(command)

    def tests(self: Project, targets: tuple[str, ...] = (), timeout=None) -> TestRun:
        calls.append(f"tests {' '.join(targets) or 'all'}")
        value = outputs["tests"]
        if isinstance(value, BaseException):
            raise value
        return dataclasses.replace(value, targets=targets)

    def run(self: Project, *args: str, timeout=None, env=None) -> subprocess.CompletedProcess[str]:
        if args == ("-c", DEVICE_PROBE):
            return answer("devices")
        if args[0] == "benchmarks/bench_serve.py":
            return completed(json.dumps(answer("bench_serve")))
        assert args[:2] == ("-m", "ruff"), f"an unexpected command: {args}"
        return answer(f"ruff {args[2]}")

    monkeypatch.setattr(Project, "cli", cli)
    monkeypatch.setattr(Project, "tests", tests)
    monkeypatch.setattr(Project, "run", run)
    return {
        "root": root,
        "calls": calls,
        "outputs": outputs,
        "overrides": overrides,
        "commands": commands,
    }


def record(number: int = 4, status: str = "accepted") -> Record:
    return Record(
        number=number,
        title="Model architecture: gradient-boosted trees",
        status=status,
        date="2026-11-23",
        decision_makers=["ml-architect", "ml-architect", "ml-architect"],
        context="Three candidates were cross-validated on 455 rows.\n\nThe metric is ROC-AUC.",
        drivers=["ROC-AUC (higher is better)", "interpretability: preferred"],
        options=[
            Option("baseline", "logistic regression", ["0.994 ± 0.004"], ["linear only"]),
            Option("pragmatic", "HistGradientBoosting", ["0.990 ± 0.006", "fast"], []),
        ],
        chosen="baseline",
        because="it is within one standard deviation of the best and interpretable.",
        good=["coefficients explain predictions"],
        bad=["misses interactions"],
        confirmation="Phase 11 evaluates it on the held-out rows.",
        more="Fold scores: 0.99, 0.995.",
        flow={
            "phase": 4,
            "agents": ["ml-architect"] * 3,
            "backend": "offline",
            "model": None,
            "tokens": {"input": 0, "output": 0},
            "cost_usd": 0.0,
            "input_fingerprint": "ab12",
        },
    )


def assert_written_tests_lint_clean(root: Path) -> None:
    """The tests phases 7 and 9 wrote into a project compile and pass ruff with the generated
    project's own settings (its pyproject's [tool.ruff] tables)."""
    template = (PACKAGE.parents[1] / "pyproject.toml.jinja").read_text()
    ruff = template[template.index("[tool.ruff]") :].replace(
        "{{ python_version | replace('.', '') }}", "311"
    )
    (root / "pyproject.toml").write_text(ruff)
    written = ["tests/test_experiment.py", "tests/test_integration.py"]
    for path in written:
        compile((root / path).read_text(), path, "exec")
    for check in (["check"], ["format", "--check"]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *check, *written],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout
