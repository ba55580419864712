"""Typed configuration: configs/*.yaml validated by pydantic, plus `dotted.key=value` overrides.

Unknown keys and ill-typed values are errors that name the key, so a typo in a config or on
the command line never falls back silently to a default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .catalogue import MODELS, TASKS, task_metrics
from .errors import ConfigError

# pydantic takes a tuple of names as a Literal's values, so the catalogue's names are the types.
TaskType = Literal[TASKS]
ModelName = Literal[tuple(MODELS)]


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(StrictModel):
    source: str = Field(description="sample:<name>, or a .csv / .parquet path")
    target: str = Field(min_length=1, description="column to predict")
    group_column: str | None = Field(None, description="rows sharing it stay in one split")
    time_column: str | None = Field(None, description="split by time on this column")
    test_size: float = Field(0.2, gt=0, lt=0.5)
    val_size: float = Field(0.2, gt=0, lt=0.5)


class LinearConfig(StrictModel):
    C: float = Field(1.0, gt=0, description="inverse regularisation strength (classification)")
    alpha: float = Field(1.0, ge=0, description="ridge penalty (regression)")


class GbmConfig(StrictModel):
    max_iter: int = Field(300, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    max_leaf_nodes: int = Field(31, ge=2)
    l2_regularization: float = Field(0.0, ge=0)


class MlpConfig(StrictModel):
    hidden: list[Annotated[int, Field(ge=1)]] = Field([128, 128], min_length=1)
    dropout: float = Field(0.1, ge=0, lt=1)


class ModelConfig(StrictModel):
    name: ModelName = "mlp"
    linear: LinearConfig = Field(default_factory=LinearConfig)
    gbm: GbmConfig = Field(default_factory=GbmConfig)
    mlp: MlpConfig = Field(default_factory=MlpConfig)


class LossConfig(StrictModel):
    class_weights: Literal["none", "balanced"] = "none"
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    regression: Literal["mse", "huber"] = "mse"
    huber_delta: float = Field(1.0, gt=0)


class TrainConfig(StrictModel):
    epochs: int = Field(60, ge=1)
    min_steps: int = Field(
        600, ge=0, description="small data: more epochs until this many optimizer steps; 0: off"
    )
    batch_size: int = Field(256, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: float = Field(1.0, ge=0, description="linear warm-up, in epochs")
    grad_accum_steps: int = Field(1, ge=1)
    grad_clip: float | None = Field(None, gt=0, description="max gradient norm; null: off")
    amp: bool = Field(True, description="mixed precision when on CUDA")
    patience: int = Field(10, ge=1, description="epochs without improvement before stopping")
    min_delta: float = Field(1e-4, ge=0)
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    threads: int = Field(0, ge=0, description="CPU threads for torch; 0: torch's default")
    deterministic: bool = True
    log_every: int = Field(50, ge=1, description="steps between logged training losses")


class EvaluateConfig(StrictModel):
    bootstrap: int = Field(1000, ge=0, description="resamples for confidence intervals")
    confidence: float = Field(0.95, gt=0, lt=1)
    batch_size: int = Field(8192, ge=1)


class BakeoffConfig(StrictModel):
    folds: int = Field(5, ge=2)
    models: list[ModelName] = Field(list(MODELS), min_length=1)
    mlp_epochs: int = Field(30, ge=1, description="epochs per fold for the MLP")


class TrackingConfig(StrictModel):
    backend: Literal["mlflow", "wandb", "none"] = "none"
    experiment: str = Field("default", min_length=1)
    uri: str | None = Field(None, description="MLflow store; MLFLOW_TRACKING_URI wins if set")


class Config(StrictModel):
    task: TaskType
    primary_metric: str
    # numpy and scikit-learn take seeds below 2**32.
    seed: int = Field(0, ge=0, lt=2**32)
    output_dir: Path = Path("outputs")
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    bakeoff: BakeoffConfig = Field(default_factory=BakeoffConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @model_validator(mode="after")
    def _metric_fits_task(self) -> Config:
        allowed = task_metrics(self.task)
        if self.primary_metric not in allowed:
            raise ValueError(
                f"primary_metric '{self.primary_metric}' does not fit task '{self.task}'"
                f" (allowed: {', '.join(allowed)})"
            )
        return self


# Sections a trained run may take overrides for (evaluate, predict, export); output_dir only
# finds the run. Everything else (data, target, model, loss, train, seed) made the run.
RUN_SETTINGS = ("evaluate", "tracking", "output_dir")


def _section(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The config section at a key path, or None where the path is not a section."""
    model: type[BaseModel] = Config
    for part in path:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _holds_text(path: Sequence[str]) -> bool:
    """Whether the field at a key path is text (or text or null), such as a column name."""
    section = _section(path[:-1])
    field = section.model_fields.get(path[-1]) if section else None
    return field is not None and field.annotation in (str, str | None)


def key_within(key: str, sections: Sequence[str]) -> bool:
    """Whether a dotted key is one of `sections` (dotted keys too) or lies inside one."""
    return any(key == name or key.startswith(f"{name}.") for name in sections)


def parse_override(override: str) -> tuple[list[str], Any]:
    """Split `a.b=value` into its key path and a YAML-typed value (`0.1` is a float).

    A text field (a column name, a path) takes the text as written, so `data.target=1` names
    the column `1` and `007` stays `007`; only `null` still clears it.
    """
    key, sep, text = override.partition("=")
    path = key.split(".")
    if not sep or not key or any(not part for part in path):
        raise ConfigError(f"override '{override}' is not of the form dotted.key=value")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        value = text
    if value is not None and _holds_text(path):
        value = text
    return path, value


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set each override in a nested dict; keys that do not exist are left to validation."""
    for override in overrides:
        path, value = parse_override(override)
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override '{override}': '{part}' is a value, not a section")
            node = child
        node[path[-1]] = value
    return raw


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """The field names of the section at `loc` (to list them next to an unknown key)."""
    section = _section(loc)
    return list(section.model_fields) if section else []


def describe(error: ValidationError) -> str:
    """One line naming every bad key and what is allowed there."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "config"
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(item["loc"][:-1]))
            problems.append(f"unknown key '{key}' (allowed: {allowed})")
        elif item["type"] == "missing":
            problems.append(f"missing key '{key}'")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"'{key}': {message} (got {item['input']!r})")
    return "; ".join(problems)


def load_config(path: Path, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config, apply overrides and validate; every failure is a ConfigError."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"config file {path} is not valid YAML{line}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {raw!r}")
    try:
        return Config.model_validate(apply_overrides(raw, overrides))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from None


def load_run_config(path: Path, overrides: Sequence[str] = ()) -> Config:
    """A trained run's own config.yaml with overrides of the settings a trained run allows.

    Any other key made the run (its data, model, training), so changing it here would describe
    a model that was never trained: that is refused, naming the key.
    """
    config = load_config(path, overrides)  # unknown keys and bad values first
    for override in overrides:
        key = ".".join(parse_override(override)[0])
        if not key_within(key, RUN_SETTINGS):
            allowed = ", ".join(f"{name}.*" if _section([name]) else name for name in RUN_SETTINGS)
            raise ConfigError(
                f"'{key}' cannot change for a trained run (it was fixed when the run was"
                f" trained; only {allowed} can); train a new run to change it"
            )
    return config


def dump_config(config: Config) -> str:
    """The resolved config as YAML, loadable again by `load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
