"""A generated project whose tools answer from tables: the engine's unit tests run on it.

`canned_project` writes the answers and the default config, and replaces the project's CLI,
its test runner and its other commands (ruff) with canned results, recording
each call. A value that is an exception is raised instead, to cut a phase off.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from ml_phases.adr import Option, Record
from ml_phases.project import Project, TestRun

if TYPE_CHECKING:  # the stand-in project's tools import these tables without pytest
    import pytest

# The template's catalogue: every project the engine's tests make carries this very file.
CATALOGUE = Path(__file__).resolve().parents[2] / "template/src/{{package_name}}/catalogue.py"

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
GREEN = TestRun((), 12, 0, 0, 1.0)
RED = TestRun((), 11, 1, 0, 1.0, ("tests/test_experiment.py::test_x: assert 1 == 2",))


def completed(stdout: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, "")


def write_project(root: Path) -> None:
    """The files of a generated project that the engine reads: answers, configs, modules (the
    catalogue the template's own)."""
    (root / "docs/adr").mkdir(parents=True)
    (root / "configs").mkdir()
    (root / "src/churn").mkdir(parents=True)
    for module in (
        "__init__",
        "config",
        "data",
        "errors",
        "evaluate",
        "models",
        "predict",
        "train",
    ):
        (root / f"src/churn/{module}.py").write_text(f'"""The {module} module."""\n')
    shutil.copy(CATALOGUE, root / "src/churn/catalogue.py")
    (root / ".copier-answers.yml").write_text(yaml.safe_dump(ANSWERS))
    (root / ".gitignore").write_text(".ml-flow/\n")
    (root / "configs/default.yaml").write_text(yaml.safe_dump(DEFAULT_CONFIG, sort_keys=False))


def tables() -> dict[str, Any]:
    """What each tool answers: a command's --json output, the test run, ruff's output."""
    return {
        "profile": PROFILE,
        "risks": RISKS,
        "bakeoff": BAKEOFF,
        "train": TRAIN,
        "evaluate": EVALUATION,
        "predict": {"rows": 200},
        "export": {"max_abs_diff": 0.0},
        "tests": GREEN,
        "ruff check": completed("[]"),
        "ruff format": completed(""),
    }


def canned_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A project folder at root with answers and configs, and tools that answer from tables."""
    write_project(root)
    calls: list[str] = []
    outputs: dict[str, Any] = tables()

    def answer(name: str) -> Any:
        calls.append(name)
        value = outputs[name]
        if isinstance(value, BaseException):
            raise value
        return copy.deepcopy(value)

    def cli(self: Project, command: str, *overrides: str, config: str = "", env=None) -> Any:
        return answer(command)

    def tests(self: Project, targets: tuple[str, ...] = (), timeout=None) -> TestRun:
        calls.append(f"tests {' '.join(targets) or 'all'}")
        value = outputs["tests"]
        if isinstance(value, BaseException):
            raise value
        return dataclasses.replace(value, targets=targets)

    def run(self: Project, *args: str, timeout=None, env=None) -> subprocess.CompletedProcess[str]:
        assert args[:2] == ("-m", "ruff"), f"an unexpected command: {args}"
        return answer(f"ruff {args[2]}")

    monkeypatch.setattr(Project, "cli", cli)
    monkeypatch.setattr(Project, "tests", tests)
    monkeypatch.setattr(Project, "run", run)
    return {"root": root, "calls": calls, "outputs": outputs}


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
