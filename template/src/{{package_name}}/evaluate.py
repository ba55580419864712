"""Held-out evaluation of a trained run: metrics with bootstrap intervals, next to a dummy
baseline fitted on the training rows, written to metrics.json, plus PNG plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .catalogue import higher_is_better, task_metrics
from .data import load_dataset
from .errors import CheckpointError
from .metrics import bootstrap
from .runs import PLOTS, REPORT, load_run, write_text
from .tracking import open_tracker


def dummy_predictions(task: str, y_train: np.ndarray, n_rows: int, n_classes: int | None):
    """The baseline to beat: training class frequencies, or the training mean."""
    if task == "classification":
        prior = np.bincount(y_train, minlength=n_classes) / len(y_train)
        return np.tile(prior, (n_rows, 1))
    return np.full(n_rows, float(y_train.mean()))


def plot(
    task: str, y: np.ndarray, pred: np.ndarray, classes: list[Any] | None, folder: Path
) -> list[Path]:
    """Confusion matrix, ROC, PR and calibration; or residuals and predicted vs actual."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import CalibrationDisplay
    from sklearn.metrics import (
        ConfusionMatrixDisplay,
        PrecisionRecallDisplay,
        PredictionErrorDisplay,
        RocCurveDisplay,
    )

    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    if task == "classification":
        labels = [str(label) for label in classes or range(pred.shape[1])]
        figure, ax = plt.subplots(figsize=(5, 4.5))
        ConfusionMatrixDisplay.from_predictions(
            y,
            pred.argmax(axis=1),
            labels=range(len(labels)),
            display_labels=labels,
            ax=ax,
            colorbar=False,
        )
        figures["confusion_matrix"] = figure
        # One curve for the positive class when binary, one per class otherwise.
        shown = [1] if pred.shape[1] == 2 else range(pred.shape[1])
        for name, display in (("roc", RocCurveDisplay), ("pr", PrecisionRecallDisplay)):
            figure, ax = plt.subplots(figsize=(5, 4.5))
            for k in shown:
                display.from_predictions(y == k, pred[:, k], name=f"class {labels[k]}", ax=ax)
            figures[name] = figure
        figure, ax = plt.subplots(figsize=(5, 4.5))
        if pred.shape[1] == 2:
            CalibrationDisplay.from_predictions(y, pred[:, 1], n_bins=10, ax=ax, name="model")
        else:  # top-label calibration: confidence of the predicted class vs being right
            CalibrationDisplay.from_predictions(
                pred.argmax(axis=1) == y, pred.max(axis=1), n_bins=10, ax=ax, name="top label"
            )
        figures["calibration"] = figure
    else:
        for kind in ("residual_vs_predicted", "actual_vs_predicted"):
            figure, ax = plt.subplots(figsize=(5, 4.5))
            PredictionErrorDisplay.from_predictions(y, pred, kind=kind, ax=ax)
            figures[kind] = figure
    paths = []
    for name, figure in figures.items():
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        paths.append(path)
    return paths


def evaluate(run: Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Score the run's best model on its test rows; writes metrics.json and plots/."""
    config, predictor, summary = load_run(run, overrides)
    dataset = load_dataset(config)
    if dataset.fingerprint != summary.get("data_fingerprint"):
        raise CheckpointError(
            f"the data changed since run {run} was trained (fingerprint {dataset.fingerprint},"
            f" trained on {summary.get('data_fingerprint')}); train again"
        )
    test, y_test = dataset.part("test")
    _, y_train = dataset.part("train")
    pred = predictor.predict(test, config.evaluate.batch_size)
    classes = dataset.labels.classes
    baseline = dummy_predictions(
        config.task, y_train, len(y_test), None if classes is None else len(classes)
    )
    names = task_metrics(config.task)
    n = config.evaluate.bootstrap
    metrics = bootstrap(names, y_test, pred, n, config.evaluate.confidence, config.seed, baseline)
    primary = metrics[config.primary_metric]
    report = {
        "run": str(run),
        "model": config.model.name,
        "split": "test",
        "rows": len(y_test),
        "primary_metric": config.primary_metric,
        "primary": primary,
        "beats_baseline": bool(
            (primary["delta_low"] > 0)
            if higher_is_better(config.primary_metric)
            else (primary["delta_high"] < 0)
        ),
        "confidence": config.evaluate.confidence,
        "bootstrap": n,
        "metrics": metrics,
    }
    plots = plot(config.task, y_test, pred, None if classes is None else list(classes), run / PLOTS)
    report["plots"] = [str(path) for path in plots]
    write_text(run / REPORT, json.dumps(report, indent=2))
    tracker = open_tracker(config, run.name, run, summary.get("tracking_run_id"))
    tracker.log_metrics(
        {f"test_{name}": values["value"] for name, values in metrics.items()},
        step=summary.get("epochs_run", 0),
    )
    for path in [run / REPORT, *plots]:
        tracker.log_artifact(path)
    tracker.finish()
    return report
