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

from .catalogue import higher_is_better
from .config import Config
from .data import Dataset, Splits, load_dataset
from .errors import SplitError
from .evaluate import dummy_predictions
from .metrics import score
from .train import fit_model


def folds(
    config: Config, dataset: Dataset, rows: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time-ordered, grouped, stratified or plain K folds over `rows`, as configured.

    Folds that cannot be made (more folds than rows, than groups, or than rows of every class)
    are a SplitError that says so.
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

    k, seed, data = config.bakeoff.folds, config.seed, config.data
    try:
        if data.time_column is not None:
            times = dataset.frame[data.time_column].to_physical().to_numpy()[rows]
            ordered = rows[np.argsort(times, kind="stable")]
            splits = TimeSeriesSplit(n_splits=k).split(ordered)
            return [(ordered[a], ordered[b]) for a, b in splits]
        if data.group_column is not None:
            groups = dataset.frame[data.group_column].cast(str).fill_null("").to_numpy()[rows]
            splits = GroupKFold(n_splits=k).split(rows, groups=groups)
        elif config.task == "classification":
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            splits = splitter.split(rows, dataset.labels.y[rows])
        else:
            splits = KFold(n_splits=k, shuffle=True, random_state=seed).split(rows)
        return [(rows[a], rows[b]) for a, b in splits]
    except ValueError as exc:  # scikit-learn's own check, e.g. "n_splits=5 ... n_groups=3"
        reason = str(exc).strip().splitlines()[0]
        raise SplitError(
            f"bakeoff.folds={k} does not fit the {len(rows)} non-test rows: {reason}"
            " Lower bakeoff.folds (at least 2)"
        ) from None


def undefined_fold(
    config: Config, dataset: Dataset, model: str, fold: int, y_test: np.ndarray
) -> SplitError:
    """The error for a fold whose score is NaN, with the likely reason."""
    metric, k = config.primary_metric, config.bakeoff.folds
    classes = dataset.labels.classes
    if classes is not None and len(np.unique(y_test)) < len(classes):
        why = f"they hold {len(np.unique(y_test))} of the {len(classes)} classes"
    elif classes is None and np.ptp(y_test) == 0:
        why = "the target is constant there"
    else:
        why = f"the {model} model's predictions are not finite"
    return SplitError(
        f"{metric} is undefined on fold {fold} of {k} for {model} ({len(y_test)} held-out rows;"
        f" {why}); lower bakeoff.folds, add rows, or pick another primary_metric"
    )


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


def spread(scores: list[float]) -> dict[str, Any]:
    """Mean, sample standard deviation and the rounded scores of the folds."""
    return {
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
        "folds": [round(value, 6) for value in scores],
    }


def bakeoff(config: Config) -> dict[str, Any]:
    """Mean ± std of the primary metric over folds, fit time, latency and size, per model;
    and the same folds scored by the dummy baseline (training class frequencies or mean)."""
    dataset = load_dataset(config)
    rows = np.sort(np.concatenate([dataset.splits.train, dataset.splits.val]))
    metric = config.primary_metric
    splits = folds(config, dataset, rows)
    classes = dataset.labels.classes
    baseline = [
        score(
            metric,
            dataset.labels.y[fold_test],
            dummy_predictions(
                config.task,
                dataset.labels.y[fold_train],
                len(fold_test),
                None if classes is None else len(classes),
            ),
        )
        for fold_train, fold_test in splits
    ]
    results = []
    for name in config.bakeoff.models:
        candidate = config.model_copy(deep=True)
        candidate.model.name = name
        candidate.train.epochs = config.bakeoff.mlp_epochs
        scores, fit_seconds, latencies, batch_ms, sizes = [], [], [], [], []
        for fold, (fold_train, fold_test) in enumerate(splits, start=1):
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
            if not np.isfinite(scores[-1]):  # a NaN mean would pick an arbitrary winner
                raise undefined_fold(config, dataset, name, fold, y_test)
            latencies.append(single_row_latency_ms(predictor, test_frame))
            sizes.append(predictor.size_bytes())
        results.append(
            {
                "model": name,
                "metric": metric,
                **spread(scores),
                "fit_seconds": float(np.mean(fit_seconds)),
                "latency_ms_single_row": float(np.median(latencies)),
                "latency_ms_per_row_batched": float(np.mean(batch_ms)),
                "size_kb": round(float(np.mean(sizes)) / 1024, 1),
            }
        )
    sign = 1 if higher_is_better(metric) else -1
    best = max(results, key=lambda result: sign * result["mean"])["model"]
    return {
        "metric": metric,
        "higher_is_better": higher_is_better(metric),
        "folds": config.bakeoff.folds,
        "rows": len(rows),
        "results": results,
        "best": best,
        "baseline": {"model": "dummy", **spread(baseline)},
    }
