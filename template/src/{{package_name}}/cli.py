"""Command-line interface: the tool surface that people and the phase agents share.

Every command takes `--config` plus `dotted.key=value` overrides, and `--json` for machines.
evaluate, predict and export use the trained run's own config.yaml; their overrides may only
change evaluate.*, tracking.* and output_dir (which finds the latest run). Bad input ends with
one line on stderr and the exit code of its error class (errors.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .catalogue import MODELS, higher_is_better
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
RunOption = Annotated[
    Path | None,
    typer.Option(help="run folder (default: the latest under output_dir); --config is then unread"),
]
DEFAULT_CONFIG = Path("configs/default.yaml")


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


def run_folder(config: Path, run: Path | None, overrides: list[str] | None) -> Path:
    """The run given, or the latest one under the output_dir of the config and overrides."""
    from .runs import resolve_run

    if run is not None:  # the run holds its own config.yaml: --config is not needed
        return resolve_run(run.parent, run)
    return resolve_run(resolve(config, overrides).output_dir, None)


def make_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    labels: int = 1,
    caption: str | None = None,
) -> Table:
    """A table whose first `labels` columns name things (left-aligned); numbers align right."""
    table = Table(title=title, caption=caption)
    for position, column in enumerate(columns):
        table.add_column(column, justify="left" if position < labels else "right")
    for row in rows:
        table.add_row(*row)
    return table


def emit(result: dict[str, Any], as_json: bool, table: Table | None = None) -> None:
    """JSON for machines, a table (or the plain dict) for people."""
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        out.print(table if table is not None else result)


@app.command("config")
def config_command(
    overrides: Overrides = None,
    config: ConfigOption = DEFAULT_CONFIG,
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
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonFlag = False,
) -> None:
    """Rows, columns, types, missing values and the target distribution of the data."""
    from .data import load_frame
    from .diagnostics import profile_frame

    with user_errors():
        cfg = resolve(config, overrides)
        report = profile_frame(load_frame(cfg.data.source), cfg.data.target, cfg.task)
    metric = cfg.primary_metric  # its direction, for tools that read --json
    report["primary_metric"] = {"name": metric, "higher_is_better": higher_is_better(metric)}
    columns = ("name", "dtype", "missing", "unique")
    table = make_table(
        f"{cfg.data.source}: {report['rows']} rows x {report['columns']} columns",
        columns,
        ([str(row[key]) for key in columns] for row in report["schema"]),
        labels=2,
        caption=f"target {report['target']}; duplicate rows {report['duplicate_rows']}; "
        f"missing cells {report['missing_cells']}",
    )
    emit(report, as_json, table)


@app.command()
def risks(
    overrides: Overrides = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonFlag = False,
) -> None:
    """Quantified data risks: leakage suspects, ID-like columns, imbalance, duplicates, time."""
    from .data import load_dataset
    from .diagnostics import find_risks

    with user_errors():
        cfg = resolve(config, overrides)
        report = find_risks(load_dataset(cfg), cfg)
    table = make_table(
        f"{len(report['risks'])} risks in {report['rows']} rows",
        ("severity", "kind", "finding"),
        ([risk["severity"], risk["kind"], risk["message"]] for risk in report["risks"]),
        labels=3,
    )
    emit(report, as_json, table)


@app.command()
def bakeoff(
    overrides: Overrides = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonFlag = False,
) -> None:
    """Cross-validate bakeoff.models: metric mean ± std, fit time, latency and size."""
    from .bakeoff import bakeoff as run_bakeoff

    with user_errors():
        report = run_bakeoff(resolve(config, overrides))
    metric = report["metric"]
    rows = (
        [
            result["model"] + (" *" if result["model"] == report["best"] else ""),
            f"{result['mean']:.4f} ± {result['std']:.4f}",
            f"{result['fit_seconds']:.2f}",
            f"{result['latency_ms_single_row']:.2f}",
            f"{result['size_kb']:.1f}",
        ]
        for result in report["results"]
    )
    table = make_table(
        f"{report['folds']}-fold bake-off on {report['rows']} rows ({metric})",
        ("model", metric, "fit s", "latency ms (1 row)", "size KB"),
        rows,
    )
    emit(report, as_json, table)


@app.command(
    help=f"Train the configured model (model.name={'|'.join(MODELS)}); prints where the run went."
)
def train(
    overrides: Overrides = None,
    config: ConfigOption = DEFAULT_CONFIG,
    resume: Annotated[
        Path | None, typer.Option(help="run folder to resume from its last checkpoint")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    from .train import train as run_training

    with user_errors():
        cfg = resolve(config, overrides)
        summary = run_training(cfg, resume=resume, show_progress=not as_json)
    emit(summary, as_json)


@app.command()
def evaluate(
    overrides: Overrides = None,
    run: RunOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
    bootstrap: Annotated[
        int | None, typer.Option(help="resamples; short for evaluate.bootstrap=N")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Test-split metrics with bootstrap intervals against a dummy baseline, plus plots."""
    from .evaluate import evaluate as run_evaluation

    overrides = [
        *(overrides or []),
        *([] if bootstrap is None else [f"evaluate.bootstrap={bootstrap}"]),
    ]
    with user_errors():
        report = run_evaluation(run_folder(config, run, overrides), overrides)
    confidence = f"{report['confidence']:.0%}"
    rows = (
        [
            name,
            f"{values['value']:.4f}",
            f"[{values['low']:.4f}, {values['high']:.4f}]",
            f"{values['baseline']:.4f}",
            f"{values['delta']:+.4f} [{values['delta_low']:+.4f}, {values['delta_high']:+.4f}]",
        ]
        for name, values in report["metrics"].items()
    )
    table = make_table(
        f"{report['model']} on {report['rows']} test rows ({confidence} CI)",
        ("metric", "model", "interval", "dummy baseline", "difference"),
        rows,
        caption=f"metrics.json and plots in {report['run']}",
    )
    emit(report, as_json, table)


@app.command()
def predict(
    source: Annotated[
        str, typer.Argument(help="CSV / Parquet file with the feature columns, or sample:<name>")
    ],
    overrides: Overrides = None,
    output: Annotated[Path, typer.Option(help="CSV file to write")] = Path("predictions.csv"),
    run: RunOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonFlag = False,
) -> None:
    """Predict every row of a file (or a bundled sample) with a trained run; writes a CSV."""
    from .predict import predict_file

    with user_errors():
        found = run_folder(config, run, overrides)
        emit(predict_file(found, source, output, overrides or []), as_json)


@app.command()
def export(
    overrides: Overrides = None,
    run: RunOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
    output: Annotated[
        Path | None, typer.Option(help="file to write (default: run/model.pt2)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export a trained MLP with torch.export, checked against the original's outputs."""
    from .predict import export_mlp

    with user_errors():
        emit(export_mlp(run_folder(config, run, overrides), output, overrides or []), as_json)


def main() -> None:
    app()
