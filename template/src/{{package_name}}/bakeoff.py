"""The model bake-off: cross-validate linear, gbm and mlp on the non-test rows.

Each fold's held-out rows are only scored; early stopping inside a fold uses an inner
validation slice of the fold's training rows, so no model is picked on the rows that score it.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any

import numpy as np

from .config import Config
from .data import Dataset, Splits, load_dataset
from .metrics import HIGHER_IS_BETTER, score
from .train import fit_model


def folds(
    config: Config, dataset: Dataset, rows: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time-ordered, grouped, stratified or plain K folds over `rows`, as configured."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

    k, seed, data = config.bakeoff.folds, config.seed, config.data
    if data.time_column is not None:
        times = dataset.frame[data.time_column].to_physical().to_numpy()[rows]
        ordered = rows[np.argsort(times, kind="stable")]
        return [(ordered[a], ordered[b]) for a, b in TimeSeriesSplit(n_splits=k).split(ordered)]
    if data.group_column is not None:
        groups = dataset.frame[data.group_column].cast(str).fill_null("").to_numpy()[rows]
        splitter = GroupKFold(n_splits=k)
        return [(rows[a], rows[b]) for a, b in splitter.split(rows, groups=groups)]
    if config.task == "classification":
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        labels = dataset.labels.y[rows]
        return [(rows[a], rows[b]) for a, b in splitter.split(rows, labels)]
    splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    return [(rows[a], rows[b]) for a, b in splitter.split(rows)]


def inner_split(
    config: Config, dataset: Dataset, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The last 15% of a fold's training rows (in time order if any) for early stopping."""
    if config.data.time_column is None:
        rows = np.random.default_rng(config.seed).permutation(rows)
    cut = int(len(rows) * 0.85)
    return rows[:cut], rows[cut:]


def single_row_latency_ms(predictor: Any, frame: Any, repeats: int = 20) -> float:
    """Median time to predict one row, preprocessing included (what a realtime call pays)."""
    times = []
    for i in range(min(repeats, frame.height)):
        start = time.perf_counter()
        predictor.predict(frame[i : i + 1])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def bakeoff(config: Config) -> dict[str, Any]:
    """Mean ± std of the primary metric over folds, fit time, latency and size, per model."""
    dataset = load_dataset(config)
    rows = np.sort(np.concatenate([dataset.splits.train, dataset.splits.val]))
    metric = config.primary_metric
    results = []
    for name in config.bakeoff.models:
        candidate = config.model_copy(deep=True)
        candidate.model.name = name
        candidate.train.epochs = config.bakeoff.mlp_epochs
        scores, fit_seconds, latencies, batch_ms, sizes = [], [], [], [], []
        for fold_train, fold_test in folds(config, dataset, rows):
            inner_train, inner_val = inner_split(config, dataset, fold_train)
            view = dataclasses.replace(dataset, splits=Splits(inner_train, inner_val, fold_test))
            start = time.perf_counter()
            predictor = fit_model(candidate, view).predictor
            fit_seconds.append(time.perf_counter() - start)
            test_frame, y_test = view.part("test")
            start = time.perf_counter()
            pred = predictor.predict(test_frame)
            batch_ms.append(1000 * (time.perf_counter() - start) / len(y_test))
            scores.append(score(metric, y_test, pred))
            latencies.append(single_row_latency_ms(predictor, test_frame))
            sizes.append(predictor.size_bytes())
        results.append(
            {
                "model": name,
                "metric": metric,
                "mean": float(np.mean(scores)),
                "std": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
                "folds": [round(value, 6) for value in scores],
                "fit_seconds": float(np.mean(fit_seconds)),
                "latency_ms_single_row": float(np.median(latencies)),
                "latency_ms_per_row_batched": float(np.mean(batch_ms)),
                "size_kb": round(float(np.mean(sizes)) / 1024, 1),
            }
        )
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    best = max(results, key=lambda result: sign * result["mean"])["model"]
    return {
        "metric": metric,
        "higher_is_better": HIGHER_IS_BETTER[metric],
        "folds": config.bakeoff.folds,
        "rows": len(rows),
        "results": results,
        "best": best,
    }
