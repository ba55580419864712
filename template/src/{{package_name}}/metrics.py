"""Metrics for both tasks, with bootstrap confidence intervals.

Predictions are class probabilities (n, classes) for classification and values (n,) for
regression; labels are class indices or values. The metrics are plain NumPy (the tests check
them against scikit-learn) because the bootstrap calls each of them thousands of times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .catalogue import higher_is_better


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return (upper - (counts - 1) / 2)[inverse]


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic: the chance a positive outranks a negative."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(positive: np.ndarray, scores: np.ndarray) -> float:
    """Sum over score thresholds of (recall gain) x precision, as scikit-learn defines it."""
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_pos = np.cumsum(hits)[last_of_tie]
    precision = true_pos / (last_of_tie + 1)
    recall = true_pos / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _one_vs_rest(metric, y: np.ndarray, proba: np.ndarray) -> float:
    """The positive class when binary; the mean over classes otherwise (NaN if one is absent)."""
    if proba.shape[1] == 2:
        return metric(y == 1, proba[:, 1])
    return float(np.mean([metric(y == k, proba[:, k]) for k in range(proba.shape[1])]))


def roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    return _one_vs_rest(binary_auc, y, proba)


def pr_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Average precision: of the positive class when binary, macro over classes otherwise."""
    return _one_vs_rest(average_precision, y, proba)


def accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(proba.argmax(axis=1) == y))


def f1(y: np.ndarray, proba: np.ndarray) -> float:
    """F1 of the positive class when binary, macro F1 otherwise (0 for an empty class)."""
    k = proba.shape[1]
    confusion = np.bincount(y * k + proba.argmax(axis=1), minlength=k * k).reshape(k, k)
    true_pos = np.diag(confusion)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    per_class = np.divide(2 * true_pos, denominator, out=np.zeros(k), where=denominator > 0)
    return float(per_class[1] if k == 2 else per_class.mean())


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    picked = np.clip(proba[np.arange(len(y)), y], np.finfo(np.float64).eps, 1.0)
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
    return METRIC_FUNCTIONS[name](y, pred)


def is_better(name: str, new: float, old: float, min_delta: float = 0.0) -> bool:
    """Whether `new` beats `old` by at least `min_delta` in the metric's own direction."""
    if np.isnan(new):
        return False
    if np.isnan(old):
        return True
    return new > old + min_delta if higher_is_better(name) else new < old - min_delta


# Row indices drawn at once by the bootstrap: 4M int64 (32 MB), whatever the resamples.
BOOTSTRAP_CHUNK_CELLS = 1 << 22


def resample_chunks(
    rows: int, resamples: int, seed: int, chunk_cells: int = BOOTSTRAP_CHUNK_CELLS
) -> Iterator[np.ndarray]:
    """The bootstrap's row indices, (resamples, rows) in all, a few resamples at a time.

    The generator fills its output row by row, so the chunks concatenate to exactly the array
    one call would draw with the same seed: the chunk size changes memory, never results.
    """
    rng = np.random.default_rng(seed)
    per_chunk = max(1, chunk_cells // max(rows, 1))
    for start in range(0, resamples, per_chunk):
        yield rng.integers(0, rows, size=(min(per_chunk, resamples - start), rows))


def bootstrap(
    names: tuple[str, ...],
    y: np.ndarray,
    pred: np.ndarray,
    resamples: int,
    confidence: float,
    seed: int,
    baseline: np.ndarray | None = None,
    chunk_cells: int = BOOTSTRAP_CHUNK_CELLS,
) -> dict[str, dict[str, float]]:
    """Each metric with a percentile bootstrap interval over resampled rows.

    All metrics share one set of resamples (fixed by `seed`). With `baseline` predictions,
    each metric also gets the paired difference model - baseline and its interval. The
    resamples are drawn in chunks of about `chunk_cells` row indices, so memory does not grow
    with their number.
    """
    draws: dict[str, list[float]] = {name: [] for name in names}
    base_draws: dict[str, list[float]] = {name: [] for name in names}
    for chunk in resample_chunks(len(y), resamples, seed, chunk_cells):
        for rows in chunk:
            y_rows, pred_rows = y[rows], pred[rows]  # gathered once for every metric
            base_rows = None if baseline is None else baseline[rows]
            for name in names:
                draws[name].append(score(name, y_rows, pred_rows))
                if base_rows is not None:
                    base_draws[name].append(score(name, y_rows, base_rows))
    results = {}
    for name in names:
        model = np.array(draws[name])
        result = {"value": score(name, y, pred), **_interval(model, confidence, "")}
        if baseline is not None:
            result["baseline"] = score(name, y, baseline)
            result["delta"] = result["value"] - result["baseline"]
            result |= _interval(model - np.array(base_draws[name]), confidence, "delta_")
        results[name] = result
    return results


def _interval(draws: np.ndarray, confidence: float, prefix: str) -> dict[str, float]:
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0:
        return {f"{prefix}low": float("nan"), f"{prefix}high": float("nan")}
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return {f"{prefix}low": float(low), f"{prefix}high": float(high)}
