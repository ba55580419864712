"""Reading the data files both task families take: CSV and Parquet, whole or in batches.

Each failure is one line naming the file and what is wrong (a missing file, another format,
duplicated column names, a corrupt file, no rows); `fingerprint` names a table's content.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from .errors import DataFileError, DataFormatError


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


def scan_table(path: Path, row_index: str | None = None) -> pl.LazyFrame:
    """A CSV or Parquet file as a lazy query (nothing read but the header or metadata): run it
    with `collect_lazy`, which keeps `read_table`'s one-line errors for the reading it does.

    `row_index` names a column of row numbers the reader adds: unlike `with_row_index` on the
    query, whose reordering buffers grew with the rows read (705 MB at 8M rows, 377 MB at 2M,
    through a slow consumer), it keeps a streamed query's memory flat (447 vs 406 MB)."""
    suffix = _table_suffix(path)
    with _reading(path, suffix):
        if suffix == ".csv":
            lazy = pl.scan_csv(path, row_index_name=row_index, **CSV_OPTIONS)
        else:
            lazy = pl.scan_parquet(path, row_index_name=row_index)
        lazy.collect_schema()  # reads the header or metadata: a corrupt file fails here
    return lazy


def collect_lazy(path: Path, *queries: pl.LazyFrame) -> list[pl.DataFrame]:
    """Run queries over `scan_table(path)` together on polars' streaming engine (memory bounded
    by its batches, not the file's rows; a scan they share is read once); a corrupt file or a
    duplicated name is one line."""
    with _reading(path, _table_suffix(path)):
        return pl.collect_all(list(queries), engine="streaming")


def read_batches(path: Path, rows: int) -> Iterator[pl.DataFrame]:
    """A CSV or Parquet file read lazily, `rows` rows at a time (the last batch may be
    shorter), so memory holds one batch, not the file. Types as `read_table` infers them."""
    seen = 0
    for batch in query_batches(path, scan_table(path), rows):
        seen += batch.height
        yield batch
    if not seen:
        raise _no_rows(path)


def query_batches(path: Path, query: pl.LazyFrame, rows: int) -> Iterator[pl.DataFrame]:
    """The non-empty results of a query over `scan_table(path)`, `rows` at a time, in order."""
    with _reading(path, _table_suffix(path)):
        for batch in query.collect_batches(chunk_size=rows, engine="streaming"):
            if batch.height and batch.width:
                yield batch


def fingerprint(frame: pl.DataFrame) -> str:
    """A short content hash of a table (column names, types and values), for run tags."""
    digest = hashlib.sha256()
    for name, series in zip(frame.columns, frame.get_columns(), strict=True):
        digest.update(f"{name}:{series.dtype}".encode())
        if series.dtype == pl.Duration:  # polars has no text form of durations: use their ticks
            series = series.to_physical()
        digest.update(series.cast(pl.String).fill_null("\x00").str.join("\x1f").item().encode())
    return digest.hexdigest()[:16]
