"""Using a trained run: load it, predict on a CSV / Parquet file, export the MLP.

A run folder holds config.yaml, run.json, predictor.joblib (preprocessing and, for the
scikit-learn models, the estimator) and, for the MLP, best.pt / last.pt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from .config import Config, load_run_config
from .data import features, load_frame
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


def predict_file(
    run: Path, source: str | Path, output: Path, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """Predictions for every row of a CSV / Parquet file (or a bundled sample), into a CSV.

    Columns the model was not trained on (the target, say) are ignored.
    """
    config, predictor, _ = load_run(run, overrides)
    frame = load_frame(str(source))
    missing = [name for name in predictor.schema.columns if name not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source} lacks {len(missing)} feature column(s) the model was trained on:"
            f" {', '.join(missing[:10])}"
        )
    pred = predictor.predict(features(frame, predictor.schema), config.evaluate.batch_size)
    if config.task == "classification":
        classes = list(predictor.classes or ())
        columns = {"prediction": pl.Series([classes[i] for i in pred.argmax(axis=1)])}
        columns |= {f"proba_{label}": pred[:, i] for i, label in enumerate(classes)}
    else:
        columns = {"prediction": pred}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    pl.DataFrame(columns).write_csv(partial)
    partial.replace(output)
    return {"run": str(run), "rows": frame.height, "output": str(output)}


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
    partial = output.with_name(output.name + ".partial")
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
