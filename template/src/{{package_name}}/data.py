"""Loading tabular data: bundled samples, CSV and Parquet files, checked against the config.

Bundled samples are the copies that scikit-learn ships, so nothing is downloaded.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .catalogue import SAMPLE_PREFIX, SAMPLES
from .errors import ColumnError, DataFileError, DataFormatError, SplitError, TargetError

if TYPE_CHECKING:
    from .config import Config, DataConfig

TARGET = "target"  # the label column of every bundled sample
MISSING = "(missing)"  # the category that missing text values become


def load_sample(name: str) -> pl.DataFrame:
    """A scikit-learn bundled dataset as a frame with its feature names and a `target` column."""
    if name not in SAMPLES:
        allowed = ", ".join(SAMPLE_PREFIX + sample for sample in SAMPLES)
        raise DataFileError(f"unknown sample '{SAMPLE_PREFIX}{name}' (allowed: {allowed})")
    from sklearn import datasets  # imported here: it costs a second and most commands skip it

    bunch = getattr(datasets, SAMPLES[name][1])()
    frame = pl.DataFrame(bunch.data, schema=[str(column) for column in bunch.feature_names])
    return frame.with_columns(pl.Series(TARGET, bunch.target))


def csv_header(path: Path) -> list[str]:
    """The column names in a CSV file's first record, as written (quotes and all)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def duplicated(names: list[str]) -> list[str]:
    """Names that occur more than once, in order of first occurrence."""
    counts = Counter(names)
    return [name or "(blank)" for name in counts if counts[name] > 1]


# One set of CSV options, so a file read whole and a file read in batches get the same types.
# Empty fields and the markers R and pandas write for a missing value are missing: without
# them a numeric column holding "NA" would be read as text (the Palmer penguins file does this).
NULL_MARKERS = ["NA", "N/A", "NULL", "null"]
CSV_OPTIONS: dict[str, Any] = {
    "infer_schema_length": 10_000,
    "try_parse_dates": True,
    "null_values": NULL_MARKERS,
}
TWICE = "has duplicated column names: {}; give each column a unique name"


def _table_suffix(path: Path) -> str:
    """The file's suffix, once it is known to be a table file that exists."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataFileError(f"data file {path} is not .csv, .parquet or .pq")
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist")
    return suffix


@contextmanager
def _reading(path: Path, suffix: str) -> Iterator[None]:
    """Read a table file inside this: duplicated column names are refused (polars would rename
    the copies, `f1_duplicated_0`, which no config and no model trained elsewhere expects), and
    an unreadable or corrupt file becomes a clear error."""
    try:
        if suffix == ".csv" and (names := duplicated(csv_header(path))):
            raise DataFormatError(f"data file {path} {TWICE.format(', '.join(names))}")
        yield
    except PermissionError:
        raise DataFileError(f"data file {path} cannot be read (permission denied)") from None
    except pl.exceptions.DuplicateError as exc:  # Parquet: polars names the first one, quoted
        names = re.findall(r"'([^']*)'", str(exc))[:1] or [str(exc)]
        raise DataFormatError(f"data file {path} {TWICE.format(names[0])}") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(f"data file {path} is not valid {suffix[1:]}: {reason}") from None


def _no_rows(path: Path) -> DataFormatError:
    return DataFormatError(f"data file {path} holds no rows or no columns")


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet file; a missing, unreadable or corrupt file is a clear error."""
    suffix = _table_suffix(path)
    with _reading(path, suffix):
        frame = pl.read_csv(path, **CSV_OPTIONS) if suffix == ".csv" else pl.read_parquet(path)
    if frame.height == 0 or frame.width == 0:
        raise _no_rows(path)
    return frame


def read_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    """A CSV or Parquet file read lazily, `rows` rows at a time (the last batch may be
    shorter), so memory holds one batch, not the file. Types as `read_table` infers them."""
    suffix = _table_suffix(path)
    with _reading(path, suffix):
        lazy = pl.scan_csv(path, **CSV_OPTIONS) if suffix == ".csv" else pl.scan_parquet(path)
        seen = 0
        for batch in lazy.collect_batches(chunk_size=rows):
            if batch.height and batch.width:
                seen += batch.height
                yield batch
    if not seen:
        raise _no_rows(path)


def load_frame(source: str) -> pl.DataFrame:
    """The table named by a config's `data.source`: `sample:<name>` or a file path.

    Float NaN counts as missing, like null, everywhere downstream.
    """
    if source.startswith(SAMPLE_PREFIX):
        frame = load_sample(source.removeprefix(SAMPLE_PREFIX))
    else:
        frame = read_table(Path(source))
    return frame.with_columns(pl.col(pl.Float32, pl.Float64).fill_nan(None))


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
    if labels.dtype.is_float() and (infinite := int(labels.is_infinite().sum())):
        raise TargetError(
            f"target column '{target}' has {infinite} infinite values; drop or fix those rows"
        )


def fingerprint(frame: pl.DataFrame) -> str:
    """A short content hash of a table (column names, types and values), for run tags."""
    digest = hashlib.sha256()
    for name, series in zip(frame.columns, frame.get_columns(), strict=True):
        digest.update(f"{name}:{series.dtype}".encode())
        if series.dtype == pl.Duration:  # polars has no text form of durations: use their ticks
            series = series.to_physical()
        digest.update(series.cast(pl.String).fill_null("\x00").str.join("\x1f").item().encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Schema:
    """Which columns feed the model, and how: numeric (NaN = missing) or categorical."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


def check_column_types(frame: pl.DataFrame, columns: tuple[str, ...] | list[str]) -> None:
    """Feature columns hold numbers, text, dates, times or booleans; lists, structs and bytes
    have no meaning the models could learn from without a decision only a person can make."""
    unusable = [
        f"'{name}' is {frame.schema[name]}"
        for name in columns
        if frame.schema[name].is_nested() or frame.schema[name] in (pl.Binary, pl.Object)
    ]
    if unusable:
        raise ColumnError(
            f"column {', column '.join(unusable)}: a feature must hold numbers, text, dates,"
            " times or booleans; flatten or drop it"
        )


def holds_numbers(dtype: pl.DataType) -> bool:
    """Numbers, dates, times, durations and booleans feed the model as numbers."""
    return dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean


def infer_schema(frame: pl.DataFrame, data: DataConfig) -> Schema:
    """Every column but the target, group and time columns is a feature, typed by its dtype."""
    skip = {data.target, data.group_column, data.time_column}
    check_column_types(frame, [name for name in frame.columns if name not in skip])
    numeric, categorical = [], []
    for name, dtype in frame.schema.items():
        if name in skip:
            continue
        if holds_numbers(dtype):
            numeric.append(name)
        else:
            categorical.append(name)
    if not numeric and not categorical:
        raise DataFormatError(f"the data has no feature columns besides '{data.target}'")
    return Schema(tuple(numeric), tuple(categorical))


def as_number(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as Float64: dates as epoch seconds, times of day and durations as seconds;
    NaN and ±inf become missing (an infinity is a division gone wrong, not a magnitude)."""
    column = pl.col(name)
    if not holds_numbers(dtype):  # text (or categories) that passed `check_numbers`
        column = column.cast(pl.String).str.strip_chars()
    elif dtype == pl.Time:
        column = column.cast(pl.Int64) / 1e9  # nanoseconds since midnight
    elif dtype == pl.Duration:
        column = column.dt.total_microseconds() / 1e6
    elif dtype.is_temporal():
        column = column.dt.epoch("s")
    number = column.cast(pl.Float64, strict=False)
    return pl.when(number.is_finite()).then(number).alias(name)


def check_numbers(frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
    """Numeric features that arrive as text (a new file to predict on, say) must parse as
    numbers; the error names each column, how many values failed and the first of them."""
    text = [name for name in columns if not holds_numbers(frame.schema[name])]
    problems = []
    for name in text:
        values = frame[name].cast(pl.String).drop_nulls()
        failed = values.filter(values.str.strip_chars().cast(pl.Float64, strict=False).is_null())
        if failed.len():
            problems.append(
                f"column '{name}' should hold numbers, but {failed.len()} of {values.len()}"
                f" values are not numbers (first: {failed[0]!r})"
            )
    if problems:
        raise ColumnError("; ".join(problems) + "; fix those values or leave them empty")


def features(frame: pl.DataFrame, schema: Schema) -> pl.DataFrame:
    """The feature columns in model form: numbers as Float64 (see `as_number`, missing as
    null), text as String."""
    missing = [name for name in schema.columns if name not in frame.columns]
    if missing:
        raise DataFormatError(f"the data lacks feature columns: {', '.join(missing)}")
    check_column_types(frame, schema.columns)
    check_numbers(frame, schema.numeric)
    return frame.select(
        *(as_number(name, frame.schema[name]) for name in schema.numeric),
        # Missing text is a category of its own, the same for every encoder.
        *(pl.col(name).cast(pl.String).fill_null(MISSING) for name in schema.categorical),
    )


@dataclass(frozen=True)
class Labels:
    """The target as model-ready numbers, and how to map predictions back."""

    y: np.ndarray  # class indices (int64) or values (float64)
    classes: tuple[Any, ...] | None  # class labels, None for regression


def encode_target(frame: pl.DataFrame, target: str, task: str) -> Labels:
    """Class labels become indices into the sorted classes; regression targets stay numbers."""
    check_target(frame, target, task)
    if frame[target].null_count():
        raise TargetError(
            f"target column '{target}' has {frame[target].null_count()} missing values;"
            " drop or fill those rows first"
        )
    column = frame[target]
    if task == "regression":
        return Labels(column.cast(pl.Float64).to_numpy(), None)
    ordered = column.unique().sort()
    # Each label's index among the sorted classes, found by binary search (no Python objects).
    indices = ordered.search_sorted(column, side="left").cast(pl.Int64).to_numpy()
    return Labels(indices, tuple(ordered.to_list()))


@dataclass(frozen=True)
class Splits:
    """Row indices of the three splits; disjoint, and each non-empty."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _time_split(times: np.ndarray, data: DataConfig) -> Splits:
    """Past to train, later to validation, latest to test; one timestamp never straddles."""
    order = np.argsort(times, kind="stable")
    ranked = times[order]
    n = len(times)
    test_start = ranked[int(n * (1 - data.test_size))]
    val_start = ranked[int(n * (1 - data.test_size - data.val_size))]
    test = np.flatnonzero(times >= test_start)
    val = np.flatnonzero((times >= val_start) & (times < test_start))
    train = np.flatnonzero(times < val_start)
    return Splits(train, val, test)


def _shuffled_split(
    n: int, labels: np.ndarray | None, groups: np.ndarray | None, data: DataConfig, seed: int
) -> Splits:
    """Random split, stratified by class when labels are given, by group when groups are."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    rows = np.arange(n)
    if groups is not None:
        outer = GroupShuffleSplit(n_splits=1, test_size=data.test_size, random_state=seed)
        rest, test = next(outer.split(rows, groups=groups))
        val_share = data.val_size / (1 - data.test_size)
        inner_seed = (seed + 1) % 2**32  # another shuffle than the outer split's
        inner = GroupShuffleSplit(n_splits=1, test_size=val_share, random_state=inner_seed)
        train, val = next(inner.split(rest, groups=groups[rest]))
        return Splits(rest[train], rest[val], test)
    try:
        rest, test = train_test_split(
            rows, test_size=data.test_size, random_state=seed, stratify=labels
        )
        val_share = data.val_size / (1 - data.test_size)
        stratify = None if labels is None else labels[rest]
        train, val = train_test_split(
            rest, test_size=val_share, random_state=seed, stratify=stratify
        )
    except ValueError as exc:  # too few rows for a split that holds every class
        raise SplitError(
            f"{n} rows cannot be split stratified by class ({exc}); add rows or raise"
            f" data.test_size / data.val_size (now {data.test_size} / {data.val_size})"
        ) from None
    return Splits(np.sort(train), np.sort(val), np.sort(test))


def split_rows(frame: pl.DataFrame, labels: Labels, data: DataConfig, seed: int) -> Splits:
    """Train / validation / test rows: by time, by group, or stratified by class."""
    n = frame.height
    smallest = 10
    if n < smallest:
        raise SplitError(f"the data has {n} rows; a train/validation/test split needs {smallest}")
    for column in (data.group_column, data.time_column):
        if column is not None and column not in frame.columns:
            raise SplitError(f"split column '{column}' is not in the data")
    if data.time_column is not None:
        try:
            times = features(frame, Schema((data.time_column,), ())).to_series().to_numpy()
        except ColumnError:
            dtype = frame.schema[data.time_column]
            raise SplitError(
                f"time column '{data.time_column}' is {dtype}; it must hold dates or numbers"
            ) from None
        if np.isnan(times).any():
            raise SplitError(f"time column '{data.time_column}' has missing values")
        splits = _time_split(times, data)
    else:
        groups = None
        if data.group_column is not None:
            groups = frame[data.group_column].cast(pl.String).fill_null("").to_numpy()
            if len(np.unique(groups)) < 3:
                raise SplitError(f"group column '{data.group_column}' needs at least 3 groups")
        stratify = labels.y if labels.classes is not None and groups is None else None
        if stratify is not None:
            counts = np.bincount(stratify)
            if counts.min() < 3:
                rare = labels.classes[int(counts.argmin())]
                raise SplitError(
                    f"class {rare!r} has {counts.min()} rows; a stratified split needs at least 3"
                )
        splits = _shuffled_split(n, stratify, groups, data, seed)
    for name in ("train", "val", "test"):
        rows = getattr(splits, name)
        if labels.classes is not None and len(rows) and len(np.unique(labels.y[rows])) < 2:
            raise SplitError(
                f"the {name} split holds a single class ({len(rows)} rows); metrics need two."
                " Use more rows, other split sizes, or another seed / group column"
            )
        if len(rows) == 0:
            raise SplitError(
                f"the {name} split is empty ({n} rows, test_size={data.test_size},"
                f" val_size={data.val_size}); add rows or change the split sizes"
            )
    return splits


@dataclass(frozen=True)
class Dataset:
    """Everything a model needs from the data, split once and reused by every command."""

    frame: pl.DataFrame
    schema: Schema
    labels: Labels
    splits: Splits
    fingerprint: str

    def part(self, name: str) -> tuple[pl.DataFrame, np.ndarray]:
        rows = getattr(self.splits, name)
        return features(self.frame[rows], self.schema), self.labels.y[rows]


def load_dataset(config: Config) -> Dataset:
    """Load, check, encode and split the data a config names."""
    frame = load_frame(config.data.source)
    labels = encode_target(frame, config.data.target, config.task)
    splits = split_rows(frame, labels, config.data, config.seed)
    schema = infer_schema(frame, config.data)
    return Dataset(frame, schema, labels, splits, fingerprint(frame))
