"""Using a trained run: load it, predict on a CSV / Parquet file, export the MLP.

A run folder holds config.yaml, run.json, predictor.joblib (preprocessing and, for the
scikit-learn models, the estimator) and, for the MLP, best.pt / last.pt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from .catalogue import SAMPLE_PREFIX
from .config import Config, load_run_config
from .data import features, load_frame, read_batches
from .errors import CheckpointError, SchemaError
from .models import MLP, Predictor
from .train import load_checkpoint


def resolve_run(output_dir: Path, run: Path | None) -> Path:
    """The given run folder, or the latest one trained under output_dir."""
    if run is None:
        pointer = output_dir / "latest_run"
        if not pointer.is_file():
            raise CheckpointError(
                f"no trained run under {output_dir}; run `train` first or pass --run"
            )
        run = Path(pointer.read_text().strip())
    if not (run / "config.yaml").is_file():
        raise CheckpointError(f"{run} is not a run folder (it has no config.yaml)")
    return run


def load_run(run: Path, overrides: Sequence[str] = ()) -> tuple[Config, Predictor, dict[str, Any]]:
    """The run's own config (with overrides a trained run allows), its predictor (best weights
    for the MLP) and its summary."""
    config = load_run_config(run / "config.yaml", overrides)
    summary_path, predictor_path = run / "run.json", run / "predictor.joblib"
    if not summary_path.is_file() or not predictor_path.is_file():
        raise CheckpointError(f"run {run} did not finish training (no run.json / predictor.joblib)")
    import joblib

    try:
        predictor: Predictor = joblib.load(predictor_path)
        summary = json.loads(summary_path.read_text())
    except Exception as exc:  # unpickling raises many types for a damaged file
        raise CheckpointError(f"run {run} is damaged: {type(exc).__name__}: {exc}") from None
    if predictor.name != config.model.name or predictor.task != config.task:
        raise CheckpointError(
            f"run {run}: predictor.joblib holds a {predictor.task} {predictor.name} model but"
            f" config.yaml asks for a {config.task} {config.model.name} model"
        )
    if predictor.name == "mlp":
        state = load_checkpoint(run / "best.pt")
        expected = {"hidden": list(config.model.mlp.hidden), "dropout": config.model.mlp.dropout}
        trained = {key: state.get("model_args", {}).get(key) for key in expected}
        if trained != expected:
            raise CheckpointError(
                f"checkpoint {run / 'best.pt'} was trained with model.mlp {trained}, but"
                f" {run / 'config.yaml'} asks for {expected}"
            )
        try:
            module = MLP(**state["model_args"])
            module.load_state_dict(state["model"])
        except (KeyError, RuntimeError, TypeError) as exc:
            reason = str(exc).splitlines()[0]
            raise CheckpointError(
                f"checkpoint {run / 'best.pt'} does not fit the model: {reason}"
            ) from None
        predictor.module = module.eval()
    return config, predictor, summary


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
    partial = output.with_name(output.name + ".partial")
    rows = 0
    try:
        with partial.open("wb") as sink:
            for batch in source_batches(str(source), batch_size * batches_per_read):
                if rows == 0:  # every batch of a file has the same columns
                    check_columns(predictor, batch, source)
                pred = predictor.predict(features(batch, predictor.schema), batch_size)
                prediction_frame(predictor, pred).write_csv(sink, include_header=rows == 0)
                rows += batch.height
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed run leaves no half-written file behind
        raise
    partial.replace(output)
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
    output = output or run / "model.pt2"
    partial = output.with_name(f"{output.stem}.partial{output.suffix}")  # torch wants .pt2
    torch.export.save(program, partial)
    partial.replace(output)
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
