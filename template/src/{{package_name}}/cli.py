"""Command-line interface: the tool surface that people and the phase agents share.

Every command takes `--config` plus `dotted.key=value` overrides, and `--json` for machines.
Bad input ends with one line on stderr and the exit code of its error class (errors.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .config import Config, dump_config, load_config
from .errors import ProjectError

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help=__doc__
)
out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="YAML config file", show_default=True)
]
Overrides = Annotated[
    list[str] | None, typer.Argument(help="overrides such as data.target=label seed=1")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad input into one line and its exit code; leave real bugs their traceback."""
    try:
        yield
    except ProjectError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def resolve(config: Path, overrides: list[str] | None) -> Config:
    return load_config(config, overrides or [])


def emit(result: dict[str, Any], as_json: bool, table: Table | None = None) -> None:
    """JSON for machines, a table (or the plain dict) for people."""
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        out.print(table if table is not None else result)


@app.command("config")
def config_command(
    overrides: Overrides = None,
    config: ConfigOption = Path("configs/default.yaml"),
    as_json: JsonFlag = False,
) -> None:
    """Print the resolved config (file plus overrides), validated."""
    with user_errors():
        resolved = resolve(config, overrides)
    if as_json:
        emit(resolved.model_dump(mode="json"), True)
    else:
        print(dump_config(resolved), end="")  # plain: rich would wrap long paths


@app.command()
def profile(
    overrides: Overrides = None,
    config: ConfigOption = Path("configs/default.yaml"),
    as_json: JsonFlag = False,
) -> None:
    """Rows, columns, types, missing values and the target distribution of the data."""
    from .data import load_frame, profile_frame

    with user_errors():
        cfg = resolve(config, overrides)
        report = profile_frame(load_frame(cfg.data.source), cfg.data.target, cfg.task)
    table = Table(title=f"{cfg.data.source}: {report['rows']} rows x {report['columns']} columns")
    for column in ("name", "dtype", "missing", "unique"):
        table.add_column(column, justify="left" if column in ("name", "dtype") else "right")
    for row in report["schema"]:
        table.add_row(*(str(row[key]) for key in ("name", "dtype", "missing", "unique")))
    table.caption = (
        f"target {report['target']}; duplicate rows {report['duplicate_rows']}; "
        f"missing cells {report['missing_cells']}"
    )
    emit(report, as_json, table)


def main() -> None:
    app()
