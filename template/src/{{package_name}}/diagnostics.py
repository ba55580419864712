"""What the data looks like (`profile`) and what could go wrong with it (`risks`), as plain data.

Every finding is measured on the data itself; the phase agents quote these numbers.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from .config import Config
from .data import Dataset, Schema, check_target, features

ID_NAME = re.compile(r"(^|_)(id|uuid|key|index)$", re.IGNORECASE)
LEAKAGE_SCORE = 0.99  # a single feature this predictive is more likely a leak than a signal
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def _repeated(frame: pl.DataFrame, columns: list[str] | tuple[str, ...]) -> pl.DataFrame:
    """The rows whose hash over `columns` occurs more than once: every row that repeats
    another on those columns is among them. Hashing first keeps the exact comparison that
    follows from building a second copy of a large table."""
    return frame.filter(frame.select(columns).hash_rows(seed=0).is_duplicated())


def duplicate_rows(frame: pl.DataFrame) -> int:
    """How many rows are exact copies of an earlier row."""
    candidates = _repeated(frame, frame.columns)
    return candidates.height - candidates.unique().height


def profile_frame(frame: pl.DataFrame, target: str, task: str) -> dict[str, Any]:
    """Rows, columns, types, missing values and the target distribution."""
    check_target(frame, target, task)
    columns = [
        {
            "name": name,
            "dtype": str(series.dtype),
            "missing": series.null_count(),
            "unique": series.n_unique(),
        }
        for name, series in zip(frame.columns, frame.get_columns(), strict=True)
    ]
    labels = frame[target].drop_nulls()
    if task == "classification":
        counts = labels.value_counts(sort=True)
        distribution: dict[str, Any] = {
            "classes": {str(row[0]): int(row[1]) for row in counts.iter_rows()},
        }
    else:
        values = labels.cast(pl.Float64)
        distribution = {
            "mean": values.mean(),
            "std": values.std(),
            "min": values.min(),
            "median": values.median(),
            "max": values.max(),
        }
    return {
        "rows": frame.height,
        "columns": frame.width,
        "features": frame.width - 1,
        "duplicate_rows": duplicate_rows(frame),
        "missing_cells": sum(column["missing"] for column in columns),
        "memory_mb": round(frame.estimated_size("mb"), 3),
        "target": {"name": target, "missing": frame[target].null_count(), **distribution},
        "schema": columns,
    }


def _as_codes(values: pl.Series, reference: pl.Series) -> np.ndarray:
    """Numbers as they are (missing just below the smallest), text as codes of the reference."""
    if values.dtype == pl.String:
        known = reference.unique().sort()
        codes = values.replace_strict(known, pl.int_range(known.len(), eager=True), default=-1)
        return codes.cast(pl.Float64).to_numpy()
    smallest = reference.min()
    return values.fill_null(smallest - 1 if smallest is not None else 0).to_numpy()


def single_feature_scores(dataset: Dataset, task: str, seed: int) -> dict[str, float]:
    """How well each feature alone predicts the target on held-out rows.

    A depth-3 tree per feature, fitted on the training split and scored on the validation
    split: ROC-AUC (one vs rest) for classification, R² for regression.
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from .metrics import score

    train, y_train = dataset.part("train")
    val, y_val = dataset.part("val")
    classify = task == "classification"
    scores = {}
    for name in train.columns:
        x_train = _as_codes(train[name], train[name]).reshape(-1, 1)
        x_val = _as_codes(val[name], train[name]).reshape(-1, 1)
        if classify:
            tree = DecisionTreeClassifier(max_depth=3, random_state=seed).fit(x_train, y_train)
            proba = np.zeros((len(x_val), len(dataset.labels.classes or ())))
            proba[:, tree.classes_] = tree.predict_proba(x_val)
            value = score("roc_auc", y_val, proba)
        else:
            tree = DecisionTreeRegressor(max_depth=3, random_state=seed).fit(x_train, y_train)
            value = score("r2", y_val, tree.predict(x_val))
        if np.isfinite(value):
            scores[name] = float(value)
    return scores


def column_risks(frame: pl.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """ID-like, constant, mostly-missing and infinite-valued feature columns."""
    risks = []
    for name in columns:
        series = frame[name]
        unique_share = series.n_unique() / frame.height
        # Named like an identifier and nearly unique, or integers / text that are all unique.
        named_id = ID_NAME.search(name) is not None and unique_share > 0.9
        coded_id = (series.dtype.is_integer() or series.dtype == pl.String) and unique_share > 0.99
        if named_id or coded_id:
            risks.append(
                _risk(
                    "id_like",
                    "medium",
                    f"'{name}' has a distinct value on {unique_share:.1%} of rows: an identifier"
                    " does not generalise; drop it, or use it as data.group_column",
                    column=name,
                    unique_share=round(unique_share, 4),
                )
            )
        if series.n_unique() <= 1:
            risks.append(
                _risk(
                    "constant",
                    "low",
                    f"'{name}' has a single value; it cannot help the model",
                    column=name,
                )
            )
        missing_share = series.null_count() / frame.height
        if missing_share >= 0.3:
            risks.append(
                _risk(
                    "missing",
                    "high" if missing_share >= 0.7 else "medium",
                    f"'{name}' is missing on {missing_share:.1%} of rows",
                    column=name,
                    missing_share=round(missing_share, 4),
                )
            )
        infinite = int(series.is_infinite().sum()) if series.dtype.is_float() else 0
        if infinite:
            risks.append(
                _risk(
                    "infinite",
                    "medium",
                    f"'{name}' has {infinite} infinite values; the model reads them as missing",
                    column=name,
                    values=infinite,
                )
            )
    return risks


def label_risks(dataset: Dataset) -> list[dict[str, Any]]:
    """Class imbalance and classes too small to measure."""
    classes = dataset.labels.classes or ()
    counts = np.bincount(dataset.labels.y, minlength=len(classes))
    minority = counts.min() / counts.sum()
    risks = []
    if minority < 0.2:
        risks.append(
            _risk(
                "imbalance",
                "high" if minority < 0.05 else "medium",
                f"the smallest class ({classes[int(counts.argmin())]!r}) is {minority:.1%} of rows:"
                " stratify, prefer pr_auc or f1, consider loss.class_weights=balanced",
                minority_share=round(float(minority), 4),
            )
        )
    tiny = [str(label) for label, count in zip(classes, counts, strict=True) if count < 20]
    if tiny:
        risks.append(
            _risk(
                "tiny_classes",
                "medium",
                f"classes with fewer than 20 rows ({', '.join(tiny)}): their metrics are noisy",
                classes=tiny,
            )
        )
    return risks


def _risk(kind: str, severity: str, message: str, **measured: Any) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "message": message, **measured}


def find_risks(dataset: Dataset, config: Config) -> dict[str, Any]:
    """Quantified data risks: leakage suspects, imbalance, duplicates, constants, missing, time."""
    frame, target, data = dataset.frame, config.data.target, config.data
    scores = single_feature_scores(dataset, config.task, config.seed)
    risks = [
        _risk(
            "leakage",
            "high",
            f"'{name}' alone predicts the target with score {value:.3f} on held-out rows;"
            " check that it is known at prediction time",
            column=name,
            score=round(value, 4),
        )
        for name, value in scores.items()
        if value >= LEAKAGE_SCORE
    ]
    risks += column_risks(frame, dataset.schema.columns)

    duplicates = duplicate_rows(frame)
    if duplicates:
        risks.append(
            _risk(
                "duplicates",
                "medium",
                f"{duplicates} rows are exact copies; a copy in two splits inflates scores",
                rows=duplicates,
            )
        )
    conflicting = int(
        _repeated(frame, dataset.schema.columns)
        .group_by(dataset.schema.columns)
        .agg(pl.col(target).n_unique().alias("labels"), pl.len().alias("rows"))
        .filter(pl.col("labels") > 1)["rows"]
        .sum()
    )
    if conflicting:
        risks.append(
            _risk(
                "conflicting_labels",
                "medium",
                f"{conflicting} rows share all their features with a row of another label",
                rows=conflicting,
            )
        )
    if config.task == "classification":
        risks += label_risks(dataset)

    temporal = [name for name, dtype in frame.schema.items() if dtype in (pl.Date, pl.Datetime)]
    if data.time_column is None and temporal:
        risks.append(
            _risk(
                "time_order",
                "high",
                f"date columns ({', '.join(temporal)}) but no data.time_column: a random split lets"
                " the model learn from the future; set data.time_column",
                columns=temporal,
            )
        )
    if data.time_column is not None:
        times = features(frame, Schema((data.time_column,), ())).to_series()
        stored_in_order = bool(times.is_sorted())
        risks.append(
            _risk(
                "time_order",
                "info",
                f"split by time on '{data.time_column}'; rows are"
                f" {'' if stored_in_order else 'not '}stored in time order (the split sorts them)",
                sorted=stored_in_order,
            )
        )

    risks.sort(key=lambda risk: SEVERITY_ORDER[risk["severity"]])
    return {
        "rows": frame.height,
        "single_feature_scores": {name: round(value, 4) for name, value in scores.items()},
        "risks": risks,
    }
