"""The run folder: where a run lives, how its files are written, and how a run is found again.

A run folder (output_dir/runs/<time>-<model>) holds config.yaml (the resolved config), run.json
(the summary), predictor.joblib (preprocessing and, for the scikit-learn models, the
estimator) and, for the MLP, last.pt (everything a resume needs) and best.pt (the best
weights); evaluate adds metrics.json and plots/, export model.pt2. output_dir/latest_run names
the latest run. Training, evaluation, prediction and export all go through this module, so
none of them builds on another.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .config import Config, key_within, load_run_config
from .errors import CheckpointError, ConfigError
from .models import MLP, Predictor
from .tracking import flatten

if TYPE_CHECKING:
    from .data import Dataset

CONFIG = "config.yaml"
SUMMARY = "run.json"
PREDICTOR = "predictor.joblib"
LAST = "last.pt"
BEST = "best.pt"
REPORT = "metrics.json"
PLOTS = "plots"
EXPORTED = "model.pt2"
LATEST = "latest_run"  # in output_dir: the path of the latest run

# Config keys that may change when a run is resumed; any other difference is refused
# (and train.epochs only under the constant schedule: see resume_state).
RESUMABLE_CHANGES = (
    "output_dir",
    "tracking",
    "evaluate",
    "bakeoff",
    "train.epochs",
    "train.patience",
    "train.device",
    "train.threads",
    "train.log_every",
)


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """A partial file to write in place of `path`, renamed onto it only once written whole.

    A crash mid-write never leaves a half-written file under the real name, and a failure
    removes the partial file. The partial keeps the suffix, for writers that read it (torch).
    """
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def write_text(path: Path, text: str) -> None:
    """A small file (a config, a summary, a pointer) written whole or not at all."""
    with atomic_write(path) as partial:
        partial.write_text(text)


def new_run_dir(output_dir: Path, model: str) -> Path:
    """A fresh run folder under output_dir/runs, named by the time and the model."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = output_dir / "runs"
    for folder in (output_dir, runs):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"output_dir {output_dir} cannot hold runs: {folder} is a file")
    for attempt in range(100):
        path = runs / (f"{stamp}-{model}" + ("" if attempt == 0 else f"-{attempt}"))
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(
                f"output_dir {output_dir}: cannot create {path}: {exc.strerror}"
            ) from None
    raise RuntimeError(f"could not create a new run folder under {runs}")


def mark_latest(output_dir: Path, run: Path) -> None:
    """Point output_dir/latest_run at a run once it holds something to resume or use."""
    if (run / LAST).exists() or (run / PREDICTOR).exists():
        write_text(output_dir / LATEST, str(run))


def resolve_run(output_dir: Path, run: Path | None) -> Path:
    """The given run folder, or the latest one trained under output_dir."""
    if run is None:
        pointer = output_dir / LATEST
        if not pointer.is_file():
            raise CheckpointError(
                f"no trained run under {output_dir}; run `train` first or pass --run"
            )
        run = Path(pointer.read_text().strip())
    if not (run / CONFIG).is_file():
        raise CheckpointError(f"{run} is not a run folder (it has no {CONFIG})")
    return run


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """torch.save, atomically: a run killed mid-save keeps its previous checkpoint."""
    with atomic_write(path) as partial:
        torch.save(state, partial)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's tensors and records, on the CPU; a missing or damaged file is a
    CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"checkpoint {path} is corrupt or unreadable: {type(exc).__name__}"
        ) from None


def load_mlp(run: Path, config: Config) -> MLP:
    """The best weights of a run's MLP, refused if config.yaml describes another network."""
    path = run / BEST
    state = load_checkpoint(path)
    expected = {"hidden": list(config.model.mlp.hidden), "dropout": config.model.mlp.dropout}
    trained = {key: state.get("model_args", {}).get(key) for key in expected}
    if trained != expected:
        raise CheckpointError(
            f"checkpoint {path} was trained with model.mlp {trained}, but {run / CONFIG}"
            f" asks for {expected}"
        )
    try:
        module = MLP(**state["model_args"])
        module.load_state_dict(state["model"])
    except (KeyError, RuntimeError, TypeError) as exc:
        reason = str(exc).splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not fit the model: {reason}") from None
    return module.eval()


def load_run(run: Path, overrides: Sequence[str] = ()) -> tuple[Config, Predictor, dict[str, Any]]:
    """The run's own config (with overrides a trained run allows), its predictor (best weights
    for the MLP) and its summary."""
    config = load_run_config(run / CONFIG, overrides)
    summary_path, predictor_path = run / SUMMARY, run / PREDICTOR
    if not summary_path.is_file() or not predictor_path.is_file():
        raise CheckpointError(f"run {run} did not finish training (no {SUMMARY} / {PREDICTOR})")
    import joblib

    try:
        predictor: Predictor = joblib.load(predictor_path)
        summary = json.loads(summary_path.read_text())
    except Exception as exc:  # unpickling raises many types for a damaged file
        raise CheckpointError(f"run {run} is damaged: {type(exc).__name__}: {exc}") from None
    if predictor.name != config.model.name or predictor.task != config.task:
        raise CheckpointError(
            f"run {run}: {PREDICTOR} holds a {predictor.task} {predictor.name} model but"
            f" {CONFIG} asks for a {config.task} {config.model.name} model"
        )
    if predictor.name == "mlp":
        predictor.module = load_mlp(run, config)
    return config, predictor, summary


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ, ignoring those a resumed run may change."""
    flat_old, flat_new = flatten(old), flatten(new)
    return sorted(
        key
        for key in flat_old.keys() | flat_new.keys()
        if flat_old.get(key) != flat_new.get(key) and not key_within(key, RESUMABLE_CHANGES)
    )


def resume_state(config: Config, run: Path) -> dict[str, Any]:
    """The last checkpoint of a run, refused if the run was made with a different config.

    With the cosine schedule, train.epochs fixes how the learning rate decays: another value
    would bend the curve mid-run, so it is refused (the constant schedule takes any value).
    """
    state = load_checkpoint(run / LAST)
    differences = config_differences(state["config"], json.loads(config.model_dump_json()))
    if differences:
        shown = ", ".join(differences[:8]) + (", …" if len(differences) > 8 else "")
        raise CheckpointError(
            f"checkpoint {run / LAST} was made with another config ({shown} differ);"
            f" resume with the run's own {CONFIG}"
        )
    planned = state["config"]["train"]["epochs"]
    if config.train.schedule == "cosine" and config.train.epochs != planned:
        raise CheckpointError(
            f"train.epochs cannot change on resume under the cosine schedule (run {run}"
            f" decays its learning rate over {planned} epochs, not {config.train.epochs});"
            f" resume with train.epochs={planned}, or train a new run"
        )
    return state


def check_same_data(state: dict[str, Any], dataset: Dataset, run: Path) -> None:
    """A resumed run continues on the rows it started on, or not at all."""
    if state.get("data_fingerprint") != dataset.fingerprint:
        raise CheckpointError(
            f"the data changed since run {run} was checkpointed (fingerprint"
            f" {dataset.fingerprint}, checkpoint {state.get('data_fingerprint')}); resuming"
            " would mix two datasets in one model: train a new run"
        )
