"""A Copier Jinja extension that gives copier.yml the generated project's catalogue.

The project's `catalogue.py` names its tasks, metrics, models and bundled samples; copier.yml's
validators read them from there (`catalogue.SAMPLES`, `catalogue.task_metrics(task)`) instead of
spelling them out again. The file imports nothing, so it loads in Copier's own environment.
"""

from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

from jinja2 import Environment
from jinja2.ext import Extension

SOURCE = Path(__file__).resolve().parents[1] / "template/src/{{package_name}}/catalogue.py"


def load(path: Path = SOURCE) -> ModuleType:
    """The catalogue module, read from the template's source."""
    spec = spec_from_file_location("ml_flow_catalogue", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the catalogue from {path}")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CatalogueExtension(Extension):
    """Adds `catalogue` (the module) to the templates and validators."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["catalogue"] = load()
