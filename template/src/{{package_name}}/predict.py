"""Using a trained run (runs.py loads it): predict on a CSV / Parquet file, export the MLP."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from .catalogue import SAMPLE_PREFIX
from .data import features, load_frame
from .errors import CheckpointError, SchemaError
from .models import Predictor
from .runs import EXPORTED, atomic_write, load_run
from .tables import read_batches


def source_batches(source: str, rows: int) -> Iterator[pl.DataFrame]:
    """The rows of a bundled sample or a CSV / Parquet file, `rows` at a time."""
    if source.startswith(SAMPLE_PREFIX):
        return load_frame(source).iter_slices(rows)
    return read_batches(Path(source), rows)


def prediction_frame(predictor: Predictor, pred: np.ndarray) -> pl.DataFrame:
    """The predicted label (or value) of each row, and for classes each one's probability."""
    if predictor.task != "classification":
        return pl.DataFrame({"prediction": pred})
    classes = list(predictor.classes or ())
    labels = pl.Series("prediction", classes).gather(pred.argmax(axis=1))
    return pl.DataFrame(
        [labels, *(pl.Series(f"proba_{label}", pred[:, i]) for i, label in enumerate(classes))]
    )


def check_columns(predictor: Predictor, frame: pl.DataFrame, source: str | Path) -> None:
    """Data to predict on must hold every feature column the model was trained on."""
    missing = [name for name in predictor.schema.columns if name not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source} lacks {len(missing)} feature column(s) the model was trained on:"
            f" {', '.join(missing[:10])}"
        )


def predict_file(
    run: Path,
    source: str | Path,
    output: Path,
    overrides: Sequence[str] = (),
    batches_per_read: int = 8,
) -> dict[str, Any]:
    """Predictions for every row of a CSV / Parquet file (or a bundled sample), into a CSV.

    The file is read and written `batches_per_read` model batches at a time, so memory holds
    one read, not the file. A read is a whole number of model batches: rows meet the model in
    the same batches as if the file were read at once, and the output is the same to the byte.
    Columns the model was not trained on (the target, say) are ignored. The model batch is
    the run's `evaluate.batch_size` (an override may change it).
    """
    config, predictor, _ = load_run(run, overrides)
    batch_size = config.evaluate.batch_size
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with atomic_write(output) as partial, partial.open("wb") as sink:
        for batch in source_batches(str(source), batch_size * batches_per_read):
            if rows == 0:  # every batch of a file has the same columns
                check_columns(predictor, batch, source)
            pred = predictor.predict(features(batch, predictor.schema), batch_size)
            prediction_frame(predictor, pred).write_csv(sink, include_header=rows == 0)
            rows += batch.height
    return {"run": str(run), "rows": rows, "output": str(output)}


def export_mlp(
    run: Path, output: Path | None = None, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """The MLP as a torch.export program (.pt2) with a dynamic batch size, checked to give the
    same outputs as the original. Its input is the preprocessed feature matrix."""
    from torch.export import Dim, export

    config, predictor, _ = load_run(run, overrides)
    if predictor.module is None:
        raise CheckpointError(f"run {run} trained a {predictor.name} model; only the mlp exports")
    module = predictor.module.eval()
    width = module.net[0].in_features
    example = torch.zeros(8, width)
    with torch.no_grad():
        program = export(module, (example,), dynamic_shapes=({0: Dim("batch")},))
    output = output or run / EXPORTED
    with atomic_write(output) as partial:
        torch.export.save(program, partial)
    reloaded = torch.export.load(output).module()
    probe = torch.randn(257, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gap = float((reloaded(probe) - module(probe)).abs().max())
    if not np.isfinite(gap) or gap > 1e-5:
        raise CheckpointError(f"exported model differs from the original by {gap:.2e}")
    return {
        "run": str(run),
        "output": str(output),
        "inputs": width,
        "max_abs_diff": gap,
        "task": config.task,
    }
