"""Typed configuration: configs/*.yaml validated by pydantic, plus `dotted.key=value` overrides.

Unknown keys and ill-typed values are errors that name the key, so a typo in a config or on
the command line never falls back silently to a default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

TaskType = Literal["classification", "regression"]
METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


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


class TrackingConfig(StrictModel):
    backend: Literal["mlflow", "wandb", "none"] = "none"
    experiment: str = Field("default", min_length=1)


class Config(StrictModel):
    task: TaskType
    primary_metric: str
    seed: int = Field(0, ge=0)
    output_dir: Path = Path("outputs")
    data: DataConfig
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def _metric_fits_task(self) -> Config:
        allowed = METRICS[self.task]
        if self.primary_metric not in allowed:
            raise ValueError(
                f"primary_metric '{self.primary_metric}' does not fit task '{self.task}'"
                f" (allowed: {', '.join(allowed)})"
            )
        return self


def parse_override(override: str) -> tuple[list[str], Any]:
    """Split `a.b=value` into its key path and a YAML-typed value (`0.1` is a float)."""
    key, sep, text = override.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{override}' is not of the form dotted.key=value")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        value = text
    return key.split("."), value


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


def _allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names of the section at `loc` (to list them next to an unknown key)."""
    for part in loc:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def describe(error: ValidationError) -> str:
    """One line naming every bad key and what is allowed there."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "config"
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(Config, item["loc"][:-1]))
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


def dump_config(config: Config) -> str:
    """The resolved config as YAML, loadable again by `load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
