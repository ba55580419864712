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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .config import Config, TrainConfig, dump_config
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
    atomic_write,
    check_same_data,
    load_checkpoint,
    mark_latest,
    new_run_dir,
    resume_state,
    save_checkpoint,
    write_text,
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
    bad_epochs: int = 0  # since the best one: early stopping's count
    stopped_early: bool = False

    def update(self, epoch: int, value: float, metric: str, min_delta: float) -> bool:
        """Count an epoch's validation score for early stopping; True if it is the best yet."""
        # A tie keeps the later epoch: on a small validation split a step metric such as
        # accuracy plateaus early, and the later weights have trained for longer.
        if value == self.best_score or is_better(metric, value, self.best_score, min_delta):
            self.best_epoch, self.best_score, self.bad_epochs = epoch, value, 0
            return True
        self.bad_epochs += 1
        return False


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


def make_predictor(
    name: str, config: Config, dataset: Dataset, preprocessor: Any, **fitted: Any
) -> Predictor:
    """A fitted model (estimator=, or module= and target_scale=) with its preprocessing."""
    return Predictor(
        name, config.task, dataset.schema, preprocessor, dataset.labels.classes, **fitted
    )


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
    predictor = make_predictor(
        config.model.name, config, dataset, preprocessor, estimator=estimator
    )
    value = score(config.primary_metric, arrays.y_val, predictor.estimator_outputs(arrays.x_val))
    return Fit(predictor, [{"epoch": 1, f"val_{config.primary_metric}": value}], 1, value)


@dataclass
class TrainingState:
    """The model, optimizer, schedule, loss scaler and batch order: what a checkpoint must
    capture so that a resumed run continues exactly."""

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


def make_schedule(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, updates_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up over train.warmup_epochs, then train.schedule, counted in optimizer updates."""
    total = epochs * updates_per_epoch
    warmup = round(cfg.warmup_epochs * updates_per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, warmup, total, cfg.schedule)
    )


def mixed_precision(
    enabled: bool, device: torch.device
) -> tuple[Callable[[], AbstractContextManager], torch.amp.GradScaler | None]:
    """The autocast context of each forward pass, and the loss scaler if the dtype needs one.

    bfloat16 where the GPU has it, else float16; off the GPU, or with amp off, float32.
    """
    amp_dtype = None
    if enabled and device.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # Loss scaling only for float16; bfloat16 and float32 need none (and skip its per-step cost).
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else nullcontext
    return autocast, scaler


@dataclass
class Loop:
    """What the epoch loop works on: the tensors on the device, the batch plan, the loss, and
    the training state."""

    x: torch.Tensor
    y: torch.Tensor  # class indices, or standardised values
    x_val: torch.Tensor  # on the CPU: mlp_outputs moves it a batch at a time
    target_scale: tuple[float, float]  # the regression target's mean and std
    model_args: dict[str, Any]
    loss_fn: torch.nn.Module
    batch: int
    batches: int  # per epoch
    accumulate: int
    epochs: int
    autocast: Callable[[], AbstractContextManager]
    state: TrainingState


def build_loop(config: Config, arrays: Arrays) -> Loop:
    """Seed, move the data to the device, and make the MLP, its loss, optimizer and schedule."""
    cfg = config.train
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
    args = mlp_args(config, x.shape[1], arrays.n_classes)
    model = MLP(**args).to(device)
    loss_fn = make_loss(config.loss, config.task, arrays.y_train, arrays.n_classes).to(device)
    accumulate = cfg.grad_accum_steps
    batch, epochs = mlp_budget(len(x), cfg.batch_size, accumulate, cfg.epochs, cfg.min_steps)
    optimizer = make_optimizer(
        model, mlp_lr(cfg.lr, batch, cfg.batch_size), cfg.weight_decay, device
    )
    batches = math.ceil(len(x) / batch)
    scheduler = make_schedule(optimizer, cfg, math.ceil(batches / accumulate), epochs)
    autocast, scaler = mixed_precision(cfg.amp, device)
    shuffle = torch.Generator().manual_seed(config.seed)
    return Loop(
        x=x,
        y=y,
        x_val=torch.from_numpy(arrays.x_val),
        target_scale=(mean, std),
        model_args=args,
        loss_fn=loss_fn,
        batch=batch,
        batches=batches,
        accumulate=accumulate,
        epochs=epochs,
        autocast=autocast,
        state=TrainingState(model, optimizer, scheduler, scaler, shuffle, device),
    )


def restore(state: TrainingState, fit: Fit, checkpoint: dict[str, Any] | None) -> int:
    """Continue from a checkpoint (the state, the history, early stopping's count), if any;
    the epoch to start after."""
    if checkpoint is None:
        return 0
    state.load_state_dict(checkpoint)
    fit.history, fit.best_epoch = checkpoint["history"], checkpoint["best_epoch"]
    fit.best_score, fit.bad_epochs = checkpoint["best_score"], checkpoint["bad_epochs"]
    return checkpoint["epoch"]


def train_epoch(loop: Loop, grad_clip: float | None) -> torch.Tensor:
    """One pass over the training rows in a new shuffled order; each step's loss, left on the
    device (reading it back would make every step wait for the device)."""
    x, y, batch, batches, accumulate = loop.x, loop.y, loop.batch, loop.batches, loop.accumulate
    state, n = loop.state, len(x)
    state.model.train()
    order = torch.randperm(n, generator=state.shuffle).to(state.device)
    step_losses = torch.zeros(batches, device=state.device)
    for step in range(batches):
        rows = order[step * batch : (step + 1) * batch]
        with loop.autocast():
            loss = loop.loss_fn(state.model(x[rows]), y[rows])
        step_losses[step] = loss.detach()
        # Weigh each micro-batch by its share of the update's rows, so an update is the mean
        # over its rows however it was split (the last group may be short, and its last
        # micro-batch shorter still).
        if accumulate > 1:
            first = step // accumulate * accumulate * batch
            in_update = min(n, first + accumulate * batch) - first
            loss = loss * (len(rows) / in_update)
        (loss if state.scaler is None else state.scaler.scale(loss)).backward()
        if (step + 1) % accumulate == 0 or step + 1 == batches:
            state.step(grad_clip)
    return step_losses


def read_losses(step_losses: torch.Tensor, log_every: int) -> tuple[float, list[float]]:
    """The mean training loss and the mean of each log interval, read back from the device
    once an epoch (never per step)."""
    intervals = [chunk.mean() for chunk in step_losses.split(log_every)]
    interval_losses = torch.stack(intervals).float().cpu().tolist()
    return float(np.mean(step_losses.float().cpu().numpy())), interval_losses


def diverged(train_loss: float, epoch: int, lr: float) -> TrainingError:
    """The error that stops a run whose loss is no longer a finite number."""
    return TrainingError(
        f"training loss became {train_loss} in epoch {epoch}; stopped. Lower train.lr (now"
        f" {lr}) or set train.grad_clip; the last good checkpoint is kept"
    )


def validate(loop: Loop, config: Config, y_val: np.ndarray) -> float:
    """The primary metric of the current weights on the validation rows."""
    pred = mlp_outputs(
        loop.state.model, loop.x_val, config.task, loop.target_scale, config.evaluate.batch_size
    )
    return score(config.primary_metric, y_val, pred)


def save_checkpoints(
    run_dir: Path, loop: Loop, fit: Fit, improved: bool, config: Config, fingerprint: str
) -> None:
    """last.pt every epoch (all a resume needs), best.pt when the epoch improved."""
    epoch = fit.history[-1]["epoch"]
    described = {
        "model_args": loop.model_args,
        "target_scale": list(loop.target_scale),
        "epoch": epoch,
    }
    if improved:
        weights = {"model": loop.state.model.state_dict(), "best_score": fit.best_score}
        save_checkpoint({**described, **weights}, run_dir / BEST)
    progress = {
        "bad_epochs": fit.bad_epochs,
        "best_epoch": fit.best_epoch,
        "best_score": fit.best_score,
        "history": fit.history,
        "config": json.loads(config.model_dump_json()),
        "data_fingerprint": fingerprint,
    }
    save_checkpoint({**loop.state.state_dict(), **described, **progress}, run_dir / LAST)


def log_epoch(
    tracker: Tracker, record: dict[str, Any], losses: list[float], first_step: int, log_every: int
) -> None:
    """The epoch's interval losses at their steps, then its record at its epoch."""
    steps = [first_step + i * log_every for i in range(len(losses))]
    tracker.log_series("train_loss_interval", losses, steps)
    tracker.log_metrics({k: v for k, v in record.items() if k != "epoch"}, step=record["epoch"])


@contextmanager
def epoch_bar(show: bool, epochs: int, start: int) -> Iterator[Callable[[int, str], None]]:
    """A progress bar over the epochs (silent unless shown); yields its update function."""
    progress = Progress(
        TextColumn("[bold]epoch {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=not show,
        transient=False,
    )
    with progress:
        bar = progress.add_task("", total=epochs, completed=start)
        yield lambda epoch, text: progress.update(bar, completed=epoch, description=text)


def keep_best(
    model: MLP, best_weights: dict[str, torch.Tensor] | None, run_dir: Path | None
) -> None:
    """Leave the model at its best epoch's weights, with or without files."""
    if best_weights is not None:
        model.load_state_dict(best_weights)
    elif run_dir is not None and (run_dir / BEST).exists():  # resumed past its best epoch
        model.load_state_dict(load_checkpoint(run_dir / BEST)["model"])


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
    cfg, metric, tracker = config.train, config.primary_metric, tracker or Tracker()
    loop = build_loop(config, arrays)
    model, scale = loop.state.model, loop.target_scale
    fit = Fit(
        make_predictor("mlp", config, dataset, preprocessor, module=model, target_scale=scale)
    )
    start = restore(loop.state, fit, resume)
    best_weights: dict[str, torch.Tensor] | None = None
    with epoch_bar(show_progress, loop.epochs, start) as show:
        for epoch in range(start + 1, loop.epochs + 1):
            step_losses = train_epoch(loop, cfg.grad_clip)
            train_loss, interval_losses = read_losses(step_losses, cfg.log_every)
            if not math.isfinite(train_loss):
                raise diverged(train_loss, epoch, cfg.lr)
            value = validate(loop, config, arrays.y_val)
            improved = fit.update(epoch, value, metric, cfg.min_delta)
            if improved:
                best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            lr = loop.state.scheduler.get_last_lr()[0]
            record = {"epoch": epoch, "train_loss": train_loss, f"val_{metric}": value, "lr": lr}
            fit.history.append(record)
            if run_dir is not None:
                save_checkpoints(run_dir, loop, fit, improved, config, dataset.fingerprint)
            log_epoch(tracker, record, interval_losses, (epoch - 1) * loop.batches, cfg.log_every)
            show(epoch, f"loss {train_loss:.4f}  val {metric} {value:.4f}")
            if fit.bad_epochs >= cfg.patience:
                fit.stopped_early = True
                break
    keep_best(model, best_weights, run_dir)
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
    write_text(run_dir / CONFIG, dump_config(config))
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
        with atomic_write(run_dir / PREDICTOR) as partial:
            fit.predictor.save(partial)
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
        write_text(run_dir / SUMMARY, json.dumps(summary, indent=2, default=str))
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
