"""Capsules: a small YAML file of context (goal, constraints, key files, risks, data answers).

`ml-phases run --capsule <slug>` reads `.phase0/capsules/<slug>/capsule.yaml`; its values take
precedence over the Copier answers in Phase 1. A malformed capsule is an error that names the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from .layout import capsule_file
from .project import Project

LISTS = ("constraints", "key_files", "risks")
TEXT = ("goal", "data_source", "target")
CATALOGUED = ("task_type", "primary_metric")  # choices the project's catalogue offers
CHOICES = {
    "deployment_target": ("batch", "realtime", "edge"),
    "interpretability": ("none", "preferred", "required"),
}
NUMBERS = ("max_latency_ms", "max_model_mb")
KEYS = (*TEXT, *LISTS, *CATALOGUED, *CHOICES, *NUMBERS)
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class CapsuleError(ValueError):
    """A capsule that is missing or malformed; the message names the file and the key."""


def capsule_path(project: Path, slug: str) -> Path:
    if not SLUG.match(slug):
        raise CapsuleError(f"capsule slug {slug!r} is not allowed: use a-z, 0-9, '-', '_'")
    return capsule_file(project, slug)


def choices(catalogue: ModuleType) -> dict[str, tuple[str, ...]]:
    """What each choice key allows: the project's tasks and metrics, and the workflow's own."""
    return {"task_type": catalogue.TASKS, "primary_metric": tuple(catalogue.METRICS), **CHOICES}


def validate(raw: Any, source: str, allowed: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The capsule's values, checked key by key (`allowed`: each choice key's choices)."""
    if not isinstance(raw, dict):
        raise CapsuleError(f"{source}: a capsule is a mapping of keys ({', '.join(KEYS)})")
    for key, value in raw.items():
        if key not in KEYS:
            raise CapsuleError(f"{source}: unknown key '{key}' (allowed: {', '.join(KEYS)})")
        if key in TEXT and not (isinstance(value, str) and value.strip()):
            raise CapsuleError(f"{source}: '{key}' must be non-empty text")
        if key in LISTS and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            raise CapsuleError(f"{source}: '{key}' must be a list of text items")
        if key in allowed and value not in allowed[key]:
            listed = ", ".join(allowed[key])
            raise CapsuleError(f"{source}: '{key}' is {value!r}; allowed: {listed}")
        if key in NUMBERS and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            raise CapsuleError(f"{source}: '{key}' must be a number >= 0 (0: no limit)")
    for path in raw.get("key_files", []):
        if path.startswith(("/", "~")) or ".." in Path(path).parts:
            raise CapsuleError(f"{source}: key_files entry '{path}' is outside the project")
    return dict(raw)


def load_capsule(project: Project, slug: str) -> dict[str, Any]:
    path = capsule_path(project.root, slug)
    if not path.is_file():
        raise CapsuleError(f"capsule '{slug}' not found: expected {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CapsuleError(f"{path}: not valid YAML{where}") from None
    return validate(raw, str(path), choices(project.catalogue))
