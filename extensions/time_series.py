"""A Copier Jinja extension that reads a forecasting CSV's time column at question time.

copier.yml asks for the frequency of a forecasting project's data; for a CSV it infers it here,
shows it as the default, and checks the answer against the data, so an irregular series is
refused while the questions are asked, with its gaps named. The rules are the project's own:
the template's `frequency.py` (standard library only) is loaded from the template source, the
way extensions/catalogue.py loads the catalogue, so Copier and the project cannot disagree.

Only CSV is read: a Parquet file would need pyarrow, which Copier's environment lacks, so its
frequency is whatever the user answers, checked later by the project. A huge CSV is read up to
ROW_LIMIT rows or BYTE_LIMIT bytes, and the answer says the rest is checked by the project.
"""

from __future__ import annotations

import csv
import io
import stat
import sys
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

SOURCE = (
    Path(__file__).resolve().parents[1]
    / "template/src/{{package_name}}/{% if task_type == 'forecasting' %}frequency.py{% endif %}"
)
ROW_LIMIT = 5_000_000  # rows read at question time; the project checks any beyond
BYTE_LIMIT = 200 << 20  # bytes read at question time (checked every CHECK_EVERY rows)
CHECK_EVERY = 1 << 16


def load(path: Path = SOURCE) -> ModuleType:
    """The template's frequency module, read from its source (named in sys.modules, which its
    dataclass needs; the name does not end in .py, so the loader is named, not guessed)."""
    name = "ml_flow_frequency"
    spec = spec_from_loader(name, SourceFileLoader(name, str(path)))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the frequency rules from {path}")
    module = module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


FREQUENCY = load()


def _csv_path(source: str, destination: str) -> tuple[Path, int, int] | None:
    """The CSV the answer names, seen from the project folder, with its mtime and size (the
    cache key: an edited file is read again); None when it is not a readable CSV file (the
    data_source question reports why)."""
    if Path(source).suffix.lower() != ".csv":
        return None
    path = Path(destination, source).resolve()
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return path, info.st_mtime_ns, info.st_size


@lru_cache(maxsize=4)
def _read(path: Path, _mtime: int, _size: int, time: str, series: str) -> dict[str, Any]:
    """The time column (and the series column) of a CSV, streamed with `csv` and parsed as it
    is read (no column of text is held), up to ROW_LIMIT rows or BYTE_LIMIT bytes.

    Returns `groups` (series id -> stamps; one series under None), `rows` read, `complete`,
    and `problem` (a missing column, an unreadable file or value) in place of the groups.
    """
    out: dict[str, Any] = {"groups": None, "rows": 0, "complete": True, "problem": ""}
    try:
        with path.open("rb") as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            header = next(reader, [])
            missing = [name for name in (time, series) if name and name not in header]
            if missing:
                out["problem"] = f"{path.name} has no column {missing[0]!r}"
                return out
            ids: list[str] = []
            values = _values(
                reader, raw, header.index(time), header.index(series) if series else None, ids, out
            )
            stamps = FREQUENCY.parse_times(values, time)
    except (UnicodeDecodeError, csv.Error) as exc:
        out["problem"] = f"{path.name} cannot be read as CSV ({type(exc).__name__})"
        return out
    except OSError as exc:
        out["problem"] = f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})"
        return out
    except FREQUENCY.FrequencyError as exc:
        out["problem"] = str(exc)
        return out
    out["groups"] = FREQUENCY.group_series(stamps, ids) if series else {None: stamps}
    return out


def _values(
    reader: Iterator[list[str]],
    raw: io.BufferedReader,
    at: int,
    by: int | None,
    ids: list[str],
    out: dict[str, Any],
) -> Iterator[str]:
    """The time values row by row (the series ids go to `ids`), up to the row and byte limits;
    `out` learns how many rows were read and whether that was all of them."""
    rows = 0
    try:
        for row in reader:
            if not row:
                continue  # a blank line is no row
            rows += 1
            yield row[at] if at < len(row) else ""
            if by is not None:
                ids.append(row[by] if by < len(row) else "")
            if not rows % CHECK_EVERY and (rows >= ROW_LIMIT or raw.tell() >= BYTE_LIMIT):
                out["complete"] = next(reader, None) is None
                return
    finally:
        out["rows"] = rows


def _note(data: dict[str, Any]) -> str:
    if data["complete"]:
        return ""
    return f"read the first {data['rows']:,} rows; the project checks the rest"


@lru_cache(maxsize=4)
def _infer(path: Path, mtime: int, size: int, time: str, series: str) -> dict[str, Any]:
    data = _read(path, mtime, size, time, series)
    result: dict[str, Any] = {
        "frequency": None,
        "gaps": None,
        "problem": data["problem"],
        "unreadable": data["problem"],
        "rows": data["rows"],
        "note": _note(data),
    }
    if data["groups"] is not None:
        try:
            frequency, gaps = FREQUENCY.check_series(data["groups"], None, time)
        except FREQUENCY.FrequencyError as exc:
            result["problem"] = str(exc)
        else:
            result["frequency"] = frequency
            result["gaps"] = gaps.as_dict()
            result["gaps_text"] = str(gaps)
    return result


def time_series(source: str, destination: str, time: str, series: str = "") -> dict[str, Any]:
    """What a CSV's time column says: `frequency` (None if unknown), `gaps` (their summary),
    `problem` (irregular, unparseable, a missing column), `unreadable` (only the problems of
    reading the values, for the time_column question), `rows` read, and a `note` when the file
    was read only in part. A Parquet file or a file not there yet gives all of them empty."""
    found = _csv_path(source, destination)
    if found is None:
        return {"frequency": None, "gaps": None, "problem": "", "unreadable": "", "note": ""}
    return _infer(*found, time, series or "")


def frequency_problem(
    frequency: Any, source: str, destination: str, time: str, series: str = ""
) -> str:
    """Why a declared frequency is not allowed for the data ("" when it is): not a polars
    duration, or, for a CSV, not the data's (an irregular series names its intervals)."""
    text = "" if frequency is None else str(frequency)
    if not text.strip():  # no answer: the data's own problem says why none was inferred
        problem = time_series(source, destination, time, series)["problem"]
        if problem:
            return _line(text, problem)
    try:
        FREQUENCY.parse_frequency(text)
        found = _csv_path(source, destination)
        if found is None:
            return ""
        data = _read(*found, time, series or "")
        if data["groups"] is None:
            return _line(text, data["problem"])
        FREQUENCY.check_series(data["groups"], text, time)
    except FREQUENCY.FrequencyError as exc:
        return _line(text, str(exc))
    return ""


def _line(frequency: str, problem: str) -> str:
    """The problem as the one line a validator prints: "frequency '…' is not allowed…"."""
    lead = f"frequency {frequency!r} is not allowed"
    return problem if problem.startswith(lead) else f"{lead}: {problem}"


class TimeSeriesExtension(Extension):
    """Adds `time_series(...)`, `frequency_problem(...)` and `frequencies` (the template's
    frequency module: `frequencies.default_season(frequency)`) to the templates."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        functions: dict[str, Callable[..., Any] | ModuleType] = {
            "time_series": time_series,
            "frequency_problem": frequency_problem,
            "frequencies": FREQUENCY,
        }
        environment.globals.update(functions)
