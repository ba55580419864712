"""The offline backend: the function of design.py, build.py or validate.py that does a phase."""

from __future__ import annotations

from ...phases import Phase
from ..base import Context, Report
from .build import ENGINEERS
from .design import ANALYSTS
from .validate import REVIEWERS

WORKERS = {**ANALYSTS, **ENGINEERS, **REVIEWERS}  # by phase slug


class OfflineBackend:
    """Deterministic analysts and engineers, each measuring with the project's own tools."""

    name = "offline"

    def fill(self, spec: Phase, ctx: Context) -> Report:
        return WORKERS[spec.slug](ctx)
