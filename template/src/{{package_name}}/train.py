"""Training: scikit-learn models in one call; the MLP through a short, fast loop.

The loop keeps whole tensors in memory and slices shuffled batches from them (no per-sample
collation), accumulates the loss on the device and reads it back once per epoch (no host
sync per step). It seeds everything, uses AdamW with warm-up and cosine decay, gradient
accumulation and clipping, mixed precision on CUDA, early stopping on the validation metric,
and writes a checkpoint every epoch atomically, so a stopped run resumes exactly.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .config import Config, dump_config
from .data import Dataset, load_dataset
from .errors import CheckpointError, ConfigError, TrainingError
from .losses import make_loss
from .metrics import is_better, score
from .models import (
    MLP,
    Predictor,
    make_estimator,
    make_preprocessor,
    mlp_args,
    mlp_budget,
    mlp_lr,
    mlp_outputs,
)
from .runs import (
    BEST,
    CONFIG,
    LAST,
    PREDICTOR,
    SUMMARY,
    check_same_data,
    load_checkpoint,
    mark_latest,
    new_run_dir,
    resume_state,
    save_checkpoint,
)
from .tracking import Tracker, flatten, git_commit, open_tracker


@dataclass
class Arrays:
    """Preprocessed training and validation data."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int | None


@dataclass
class Fit:
    """What fitting produced: the model, one record per epoch, and how it ended."""

    predictor: Predictor
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("nan")
    stopped_early: bool = False


def pick_device(setting: str) -> torch.device:
    """The configured device; one this machine lacks is a config error, not a torch crash."""
    available = {"cpu": True, "cuda": torch.cuda.is_available()}
    available["mps"] = torch.backends.mps.is_available()
    if setting != "auto":
        if not available[setting]:
            raise ConfigError(
                f"train.device is {setting}, but {setting.upper()} is not available on this"
                " machine (or in this torch build); use train.device=auto or cpu"
            )
        return torch.device(setting)
    return torch.device(next(name for name in ("cuda", "mps", "cpu") if available[name]))


def seed_everything(seed: int, deterministic: bool, device: torch.device) -> None:
    """Seed every generator; on accelerators also ask for deterministic kernels.

    The CPU kernels this loop uses are deterministic already, and the switch costs seconds of
    imports, so it is only thrown where it changes results.
    """
    import random

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds code that still uses the global generator
    torch.manual_seed(seed)
    if deterministic and device.type != "cpu":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        torch.use_deterministic_algorithms(True, warn_only=True)


def lr_factor(step: int, warmup: int, total: int, schedule: str) -> float:
    """Linear warm-up, then constant or cosine decay to 5% of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def prepare(config: Config, dataset: Dataset) -> tuple[Any, Arrays]:
    """Fit the model's preprocessing on the training rows only; transform train and val."""
    train_frame, y_train = dataset.part("train")
    val_frame, y_val = dataset.part("val")
    preprocessor = make_preprocessor(config.model.name, dataset.schema).fit(train_frame)
    transform = lambda frame: np.asarray(preprocessor.transform(frame), dtype=np.float32)  # noqa: E731
    classes = dataset.labels.classes
    arrays = Arrays(
        transform(train_frame),
        y_train,
        transform(val_frame),
        y_val,
        None if classes is None else len(classes),
    )
    return preprocessor, arrays


def fit_sklearn(config: Config, dataset: Dataset, preprocessor: Any, arrays: Arrays) -> Fit:
    class_weight = "balanced" if config.loss.class_weights == "balanced" else None
    estimator = make_estimator(config, class_weight)
    extra = {}
    if config.model.name == "gbm":
        schema = dataset.schema
        mask = np.r_[np.zeros(len(schema.numeric), bool), np.ones(len(schema.categorical), bool)]
        estimator.set_params(categorical_features=mask if mask.any() else None)
        extra = {"X_val": arrays.x_val, "y_val": arrays.y_val}
    estimator.fit(arrays.x_train, arrays.y_train, **extra)
    predictor = Predictor(
        config.model.name,
        config.task,
        dataset.schema,
        preprocessor,
        dataset.labels.classes,
        estimator=estimator,
    )
    value = score(config.primary_metric, arrays.y_val, predictor.estimator_outputs(arrays.x_val))
    return Fit(predictor, [{"epoch": 1, f"val_{config.primary_metric}": value}], 1, value)


@dataclass
class Stateful:
    """Everything a checkpoint must capture so that a resumed run continues exactly."""

    model: MLP
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None  # only for float16 AMP
    shuffle: torch.Generator  # the batch order
    device: torch.device

    def state_dict(self) -> dict[str, Any]:
        cuda = torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": {} if self.scaler is None else self.scaler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "shuffle": self.shuffle.get_state(),
                "cuda": cuda,
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.shuffle.set_state(state["rng"]["shuffle"])
        if self.device.type == "cuda" and state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def step(self, grad_clip: float | None) -> None:
        """One optimizer update: unscale and clip if asked, step, clear, advance the schedule."""
        if grad_clip is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)  # clip the true gradients
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip)
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()


def make_optimizer(
    model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device
) -> torch.optim.AdamW:
    """AdamW, fused where torch has the kernel (CPU since torch 2.4): a faster optimizer step."""
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.AdamW(
                model.parameters(), lr=lr, weight_decay=weight_decay, fused=True
            )
        except RuntimeError:  # torch 2.3 on CPU
            pass
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def fit_mlp(
    config: Config,
    dataset: Dataset,
    preprocessor: Any,
    arrays: Arrays,
    *,
    run_dir: Path | None = None,
    tracker: Tracker | None = None,
    resume: dict | None = None,
    show_progress: bool = False,
) -> Fit:
    """The training loop. With run_dir, checkpoints last.pt every epoch and best.pt on a gain."""
    cfg = config.train
    tracker = tracker or Tracker()
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(config.seed, cfg.deterministic, device)
    classify = config.task == "classification"

    mean, std = (0.0, 1.0)
    if not classify:
        mean, std = float(arrays.y_train.mean()), float(arrays.y_train.std() or 1.0)
    x = torch.from_numpy(arrays.x_train).to(device)
    y = torch.from_numpy(arrays.y_train).to(device)
    y = y.long() if classify else ((y - mean) / std).float().unsqueeze(1)
    x_val = torch.from_numpy(arrays.x_val)

    args = mlp_args(config, x.shape[1], arrays.n_classes)
    model = MLP(**args).to(device)
    loss_fn = make_loss(config.loss, config.task, arrays.y_train, arrays.n_classes).to(device)
    n, accumulate = len(x), cfg.grad_accum_steps
    batch, epochs = mlp_budget(n, cfg.batch_size, accumulate, cfg.epochs, cfg.min_steps)
    lr = mlp_lr(cfg.lr, batch, cfg.batch_size)
    optimizer = make_optimizer(model, lr, cfg.weight_decay, device)
    batches = math.ceil(n / batch)
    updates_per_epoch = math.ceil(batches / accumulate)
    total = epochs * updates_per_epoch
    warmup = round(cfg.warmup_epochs * updates_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, warmup, total, cfg.schedule)
    )
    amp_dtype = None
    if cfg.amp and device.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # Loss scaling only for float16; bfloat16 and float32 need none (and skip its per-step cost).
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else nullcontext
    shuffle = torch.Generator().manual_seed(config.seed)

    fit = Fit(
        Predictor(
            "mlp",
            config.task,
            dataset.schema,
            preprocessor,
            dataset.labels.classes,
            module=model,
            target_scale=(mean, std),
        )
    )
    parts = Stateful(model, optimizer, scheduler, scaler, shuffle, device)
    best_weights: dict[str, torch.Tensor] | None = None
    start_epoch, bad_epochs = 0, 0
    if resume is not None:
        parts.load_state_dict(resume)
        start_epoch, bad_epochs = resume["epoch"], resume["bad_epochs"]
        fit.history, fit.best_epoch, fit.best_score = (
            resume["history"],
            resume["best_epoch"],
            resume["best_score"],
        )

    metric = config.primary_metric
    progress = Progress(
        TextColumn("[bold]epoch {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=not show_progress,
        transient=False,
    )
    with progress:
        bar = progress.add_task("", total=epochs, completed=start_epoch)
        for epoch in range(start_epoch + 1, epochs + 1):
            model.train()
            order = torch.randperm(n, generator=shuffle).to(device)
            step_losses = torch.zeros(batches, device=device)
            for step in range(batches):
                rows = order[step * batch : (step + 1) * batch]
                with autocast():
                    loss = loss_fn(model(x[rows]), y[rows])
                step_losses[step] = loss.detach()
                # Weigh each micro-batch by its share of the update's rows, so an update is the
                # mean over its rows however it was split (the last group may be short, and its
                # last micro-batch shorter still).
                if accumulate > 1:
                    first = step // accumulate * accumulate * batch
                    in_update = min(n, first + accumulate * batch) - first
                    loss = loss * (len(rows) / in_update)
                (loss if scaler is None else scaler.scale(loss)).backward()
                if (step + 1) % accumulate == 0 or step + 1 == batches:
                    parts.step(cfg.grad_clip)
            # The one host sync of the epoch: interval means of the training loss.
            intervals = [chunk.mean() for chunk in step_losses.split(cfg.log_every)]
            interval_losses = torch.stack(intervals).float().cpu().tolist()
            train_loss = float(np.mean(step_losses.float().cpu().numpy()))
            if not math.isfinite(train_loss):
                raise TrainingError(
                    f"training loss became {train_loss} in epoch {epoch}; stopped. Lower"
                    f" train.lr (now {cfg.lr}) or set train.grad_clip; the last good checkpoint"
                    " is kept"
                )
            pred = mlp_outputs(model, x_val, config.task, (mean, std), config.evaluate.batch_size)
            value = score(metric, arrays.y_val, pred)
            # A tie keeps the later epoch: on a small validation split a step metric such as
            # accuracy plateaus early, and the later weights have trained for longer.
            tie = value == fit.best_score
            improved = tie or is_better(metric, value, fit.best_score, cfg.min_delta)
            if improved:
                fit.best_epoch, fit.best_score, bad_epochs = epoch, value, 0
                best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                f"val_{metric}": value,
                "lr": scheduler.get_last_lr()[0],
            }
            fit.history.append(record)
            if run_dir is not None:
                described = {"model_args": args, "target_scale": [mean, std], "epoch": epoch}
                if improved:
                    weights = {"model": model.state_dict(), "best_score": fit.best_score}
                    save_checkpoint({**described, **weights}, run_dir / BEST)
                progress_state = {
                    "bad_epochs": bad_epochs,
                    "best_epoch": fit.best_epoch,
                    "best_score": fit.best_score,
                    "history": fit.history,
                    "config": json.loads(config.model_dump_json()),
                    "data_fingerprint": dataset.fingerprint,
                }
                save_checkpoint(
                    {**parts.state_dict(), **described, **progress_state}, run_dir / LAST
                )
            first_step = (epoch - 1) * batches
            tracker.log_series(
                "train_loss_interval",
                interval_losses,
                [first_step + i * cfg.log_every for i in range(len(interval_losses))],
            )
            tracker.log_metrics({k: v for k, v in record.items() if k != "epoch"}, step=epoch)
            progress.update(
                bar, completed=epoch, description=f"loss {train_loss:.4f}  val {metric} {value:.4f}"
            )
            if bad_epochs >= cfg.patience:
                fit.stopped_early = True
                break
    if best_weights is not None:  # the model returned is the best one, with or without files
        model.load_state_dict(best_weights)
    elif run_dir is not None and (run_dir / BEST).exists():  # resumed past its best epoch
        model.load_state_dict(load_checkpoint(run_dir / BEST)["model"])
    return fit


def fit_model(config: Config, dataset: Dataset, **loop: Any) -> Fit:
    """Fit the configured model on the training split, scored on the validation split."""
    preprocessor, arrays = prepare(config, dataset)
    if config.model.name == "mlp":
        return fit_mlp(config, dataset, preprocessor, arrays, **loop)
    return fit_sklearn(config, dataset, preprocessor, arrays)


def train(config: Config, resume: Path | None = None, show_progress: bool = False) -> dict:
    """Train the configured model; returns the run summary (also written to run.json)."""
    started = time.perf_counter()
    if resume is not None and config.model.name != "mlp":
        raise CheckpointError(f"only the mlp model resumes; model.name is {config.model.name}")
    if config.model.name == "mlp":
        pick_device(config.train.device)  # a missing device fails before any folder is made
    state = resume_state(config, resume) if resume is not None else None
    dataset = load_dataset(config)
    if state is not None:
        check_same_data(state, dataset, resume)
    run_dir = resume if resume is not None else new_run_dir(config.output_dir, config.model.name)
    (run_dir / CONFIG).write_text(dump_config(config))
    tracker = open_tracker(config, run_dir.name, run_dir)
    status = "FAILED"
    try:
        tracker.set_tags(
            {
                "git_commit": git_commit(),
                "data_fingerprint": dataset.fingerprint,
                "model": config.model.name,
                "task": config.task,
            }
        )
        tracker.log_params(flatten(config.model_dump(mode="json")))
        fit = fit_model(
            config,
            dataset,
            run_dir=run_dir,
            tracker=tracker,
            resume=state,
            show_progress=show_progress,
        )
        fit.predictor.save(run_dir / PREDICTOR)
        summary = {
            "run_dir": str(run_dir),
            "model": config.model.name,
            "task": config.task,
            "data_fingerprint": dataset.fingerprint,
            "classes": None if dataset.labels.classes is None else list(dataset.labels.classes),
            "rows": {name: len(getattr(dataset.splits, name)) for name in ("train", "val", "test")},
            "epochs_run": len(fit.history),
            "best_epoch": fit.best_epoch,
            "stopped_early": fit.stopped_early,
            f"val_{config.primary_metric}": fit.best_score,
            "seconds": round(time.perf_counter() - started, 2),
            "tracking": tracker.location,
            "tracking_run_id": tracker.run_id,
        }
        (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
        for artifact in (CONFIG, SUMMARY):
            tracker.log_artifact(run_dir / artifact)
        status = "FINISHED"
        return summary
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        tracker.finish(status)
        mark_latest(config.output_dir, run_dir)
