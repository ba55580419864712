"""Metrics for both tasks, with bootstrap confidence intervals.

Predictions are class probabilities (n, classes) for classification and values (n,) for
regression; labels are class indices or values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "f1": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}
TASK_METRICS = {
    "classification": ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


def _one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float64)[y]


def roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))


def pr_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Average precision: of the positive class when binary, macro over classes otherwise."""
    from sklearn.metrics import average_precision_score

    if proba.shape[1] == 2:
        return float(average_precision_score(y, proba[:, 1]))
    return float(average_precision_score(_one_hot(y, proba.shape[1]), proba, average="macro"))


def accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(proba.argmax(axis=1) == y))


def f1(y: np.ndarray, proba: np.ndarray) -> float:
    """Macro F1 over the classes (the positive class alone when binary)."""
    from sklearn.metrics import f1_score

    average = "binary" if proba.shape[1] == 2 else "macro"
    labels = np.arange(proba.shape[1])
    return float(f1_score(y, proba.argmax(axis=1), average=average, labels=labels, zero_division=0))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    picked = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    return float(-np.mean(np.log(picked)))


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - y)))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((y - pred) ** 2) / total) if total > 0 else float("nan")


METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "accuracy": accuracy,
    "f1": f1,
    "log_loss": log_loss,
    "rmse": rmse,
    "mae": mae,
    "r2": r2,
}


def score(name: str, y: np.ndarray, pred: np.ndarray) -> float:
    """One metric; NaN where it is undefined (e.g. ROC-AUC on a single class)."""
    try:
        return METRIC_FUNCTIONS[name](y, pred)
    except ValueError:
        return float("nan")


def is_better(name: str, new: float, old: float, min_delta: float = 0.0) -> bool:
    """Whether `new` beats `old` by at least `min_delta` in the metric's own direction."""
    if np.isnan(new):
        return False
    if np.isnan(old):
        return True
    return new > old + min_delta if HIGHER_IS_BETTER[name] else new < old - min_delta


def bootstrap(
    names: tuple[str, ...],
    y: np.ndarray,
    pred: np.ndarray,
    resamples: int,
    confidence: float,
    seed: int,
    baseline: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Each metric with a percentile bootstrap interval over resampled rows.

    All metrics share one set of resamples (fixed by `seed`). With `baseline` predictions,
    each metric also gets the paired difference model - baseline and its interval.
    """
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, len(y), size=(resamples, len(y)))
    results = {}
    for name in names:
        draws = np.array([score(name, y[rows], pred[rows]) for rows in indices])
        result = {"value": score(name, y, pred), **_interval(draws, confidence, "")}
        if baseline is not None:
            base = np.array([score(name, y[rows], baseline[rows]) for rows in indices])
            result["baseline"] = score(name, y, baseline)
            result["delta"] = result["value"] - result["baseline"]
            result |= _interval(draws - base, confidence, "delta_")
        results[name] = result
    return results


def _interval(draws: np.ndarray, confidence: float, prefix: str) -> dict[str, float]:
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0:
        return {f"{prefix}low": float("nan"), f"{prefix}high": float("nan")}
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return {f"{prefix}low": float(low), f"{prefix}high": float(high)}
