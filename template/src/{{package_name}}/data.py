"""Loading tabular data: bundled samples, CSV and Parquet files, checked against the config.

Bundled samples are the copies that scikit-learn ships, so nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from .errors import DataFileError, DataFormatError, TargetError

# name -> (task type, scikit-learn loader name)
SAMPLES: dict[str, tuple[str, str]] = {
    "breast_cancer": ("classification", "load_breast_cancer"),
    "wine": ("classification", "load_wine"),
    "diabetes": ("regression", "load_diabetes"),
}
SAMPLE_PREFIX = "sample:"
TARGET = "target"  # the label column of every bundled sample


def load_sample(name: str) -> pl.DataFrame:
    """A scikit-learn bundled dataset as a frame with its feature names and a `target` column."""
    if name not in SAMPLES:
        allowed = ", ".join(SAMPLE_PREFIX + sample for sample in SAMPLES)
        raise DataFileError(f"unknown sample '{SAMPLE_PREFIX}{name}' (allowed: {allowed})")
    from sklearn import datasets  # imported here: it costs a second and most commands skip it

    bunch = getattr(datasets, SAMPLES[name][1])()
    frame = pl.DataFrame(bunch.data, schema=[str(column) for column in bunch.feature_names])
    return frame.with_columns(pl.Series(TARGET, bunch.target))


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet file; a missing, unreadable or corrupt file is a clear error."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataFileError(f"data file {path} is not .csv, .parquet or .pq")
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist")
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema_length=10_000, try_parse_dates=True)
        else:
            frame = pl.read_parquet(path)
    except PermissionError:
        raise DataFileError(f"data file {path} cannot be read (permission denied)") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(f"data file {path} is not valid {suffix[1:]}: {reason}") from None
    if frame.height == 0 or frame.width == 0:
        raise DataFormatError(f"data file {path} holds no rows or no columns")
    return frame


def load_frame(source: str) -> pl.DataFrame:
    """The table named by a config's `data.source`: `sample:<name>` or a file path."""
    if source.startswith(SAMPLE_PREFIX):
        return load_sample(source.removeprefix(SAMPLE_PREFIX))
    return read_table(Path(source))


def check_target(frame: pl.DataFrame, target: str, task: str) -> None:
    """The target must exist, have values, and (for classification) at least two classes."""
    if target not in frame.columns:
        shown = ", ".join(frame.columns[:20]) + (", …" if frame.width > 20 else "")
        raise TargetError(f"target column '{target}' is not in the data (columns: {shown})")
    labels = frame[target].drop_nulls()
    if labels.len() == 0:
        raise TargetError(f"target column '{target}' has no values (all missing)")
    if task == "classification" and labels.n_unique() < 2:
        raise TargetError(
            f"target column '{target}' has a single class ({labels[0]!r});"
            " classification needs at least two"
        )
    if task == "regression" and not labels.dtype.is_numeric():
        raise TargetError(f"target column '{target}' is {labels.dtype}; regression needs numbers")


def profile_frame(frame: pl.DataFrame, target: str, task: str) -> dict[str, Any]:
    """Rows, columns, types, missing values and the target distribution, as plain data."""
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
        "duplicate_rows": frame.height - frame.unique().height,
        "missing_cells": sum(column["missing"] for column in columns),
        "memory_mb": round(frame.estimated_size("mb"), 3),
        "target": {"name": target, "missing": frame[target].null_count(), **distribution},
        "schema": columns,
    }
