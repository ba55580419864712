"""A Copier Jinja extension that gives copier.yml the generated projects' catalogues.

Each family of projects has its own `catalogue.py` (tabular: classification and regression;
forecasting), naming its tasks, metrics, models and bundled samples; the one a project gets is
chosen by task_type. copier.yml's validators ask the union (`catalogue.SAMPLES`,
`catalogue.task_metrics(task)`, `catalogue.SERIES_SAMPLES`) instead of spelling them out again.
The files import nothing, so they load in Copier's own environment.
"""

from __future__ import annotations

from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType, SimpleNamespace

from jinja2 import Environment
from jinja2.ext import Extension

PACKAGE = Path(__file__).resolve().parents[1] / "template/src/{{package_name}}"
SOURCES = {
    "tabular": PACKAGE / "{% if task_type != 'forecasting' %}catalogue.py{% endif %}",
    "forecasting": PACKAGE / "{% if task_type == 'forecasting' %}catalogue.py{% endif %}",
}


def load(path: Path) -> ModuleType:
    """One catalogue module, read from the template's source (its name does not end in .py,
    so the loader is named rather than guessed from the suffix)."""
    name = f"ml_flow_catalogue_{len(path.name)}"
    spec = spec_from_loader(name, SourceFileLoader(name, str(path)))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the catalogue from {path}")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merged(families: dict[str, ModuleType]) -> SimpleNamespace:
    """Every family's tasks and samples in one namespace; each task asks its own family."""
    owner = {task: module for module in families.values() for task in module.TASKS}
    return SimpleNamespace(
        TASKS=tuple(owner),
        SAMPLES={name: v for module in families.values() for name, v in module.SAMPLES.items()},
        SERIES_SAMPLES=families["forecasting"].SERIES_SAMPLES,
        SAMPLE_PREFIX=families["tabular"].SAMPLE_PREFIX,
        task_metrics=lambda task: owner[task].task_metrics(task),
        family=lambda task: next(name for name, m in families.items() if task in m.TASKS),
    )


def catalogue() -> SimpleNamespace:
    return merged({family: load(path) for family, path in SOURCES.items()})


class CatalogueExtension(Extension):
    """Adds `catalogue` (every family's, merged) to the templates and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["catalogue"] = catalogue()
