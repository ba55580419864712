"""A Copier Jinja extension that reads the data file an answer names, at question time.

copier.yml loads it through copier-template-extensions, so every copy needs `--trust` and that
package beside Copier. It runs in Copier's environment, where only the standard library is sure
to exist: CSV headers are read with `csv`, Parquet files are only checked for their magic bytes
(reading their schema would need pyarrow), so a Parquet target is checked later, by the phases.
"""

from __future__ import annotations

import csv
import stat
from pathlib import Path
from typing import Any, BinaryIO

from jinja2 import Environment
from jinja2.ext import Extension

HEADER_LIMIT = 1 << 20  # a first line longer than 1 MiB is refused rather than read on
SHOWN_COLUMNS = 20  # an error lists this many columns, then how many more there are
SHOWN_NAME = 60  # characters of one column name in an error
PARQUET_MAGIC = b"PAR1"


class DataFileError(ValueError):
    """The file exists but is not what its name says; the message completes 'the file …'."""


def csv_columns(file: BinaryIO) -> list[str]:
    """The column names on a CSV file's first line (UTF-8, an optional BOM, comma-separated)."""
    head = file.read(HEADER_LIMIT + 1)
    if not head.strip():
        raise DataFileError("is empty: its first line must name the columns")
    if b"\0" in head:
        raise DataFileError("is binary, not CSV text")
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) > HEADER_LIMIT:
        raise DataFileError("has a first line longer than 1 MiB: it must name the columns")
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise DataFileError("has a first line that is not UTF-8 text") from None
    return next(csv.reader([text]))


def check_parquet(file: BinaryIO, size: int) -> None:
    if size < 2 * len(PARQUET_MAGIC) or file.read(len(PARQUET_MAGIC)) != PARQUET_MAGIC:
        raise DataFileError("is not a Parquet file (it does not start with PAR1)")
    file.seek(-len(PARQUET_MAGIC), 2)
    if file.read(len(PARQUET_MAGIC)) != PARQUET_MAGIC:
        raise DataFileError("is not a complete Parquet file (it does not end with PAR1)")


def shown(columns: list[str]) -> str:
    """Columns for a one-line message: quoted and escaped (no control characters), the first few."""
    names = [repr(name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME] + "…") for name in columns]
    more = len(names) - SHOWN_COLUMNS
    return ", ".join(names[:SHOWN_COLUMNS]) + (f" and {more} more" if more > 0 else "")


def data_file(source: str, destination: str) -> dict[str, Any]:
    """What the answer `source` names, seen from the project folder `destination`.

    `found` is false for a relative path that does not exist yet (the phases wait for it);
    `problem` completes "data_source '…' is not allowed: …"; `columns` is None when unknown.
    """
    absolute = Path(source).is_absolute()
    # Resolved, not joined: the destination may not exist yet, and the OS cannot walk a '..'
    # out of a missing folder, while the project will read the path once the folder exists.
    path = Path(destination, source).resolve()
    result: dict[str, Any] = {"found": False, "problem": "", "columns": None, "shown": ""}
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO or a device would block or mislead
            raise DataFileError("is not a regular file")
        result["found"] = True
        with path.open("rb") as file:
            if Path(source).suffix.lower() == ".csv":  # as the answer names it, link or not
                result["columns"] = csv_columns(file)
                result["shown"] = shown(result["columns"])
            else:
                check_parquet(file, info.st_size)
    except (FileNotFoundError, NotADirectoryError):
        if absolute:
            result["problem"] = "no such file; an absolute path must name an existing file"
    except DataFileError as exc:
        result["problem"] = f"the file {exc}"
    except OSError as exc:
        result["problem"] = f"the file cannot be read ({exc.strerror or type(exc).__name__})"
    return result


class DataFileExtension(Extension):
    """Adds `data_file(source, destination)` to the templates and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["data_file"] = data_file
