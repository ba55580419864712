"""The offline backend: each role is an analyst or engineer working through the project's tools.

Deterministic and network-free: every number in a report is measured on the user's data by the
project's own CLI, tests and linters. design.py holds phases 1-6, build.py 7-9, validate.py 10-12.
"""

from .build import ENGINEERS
from .common import CANDIDATES, Context, Report, fmt
from .design import ANALYSTS, batch_size, choose, dummy_baseline, split_scheme
from .validate import REVIEWERS

PHASE_FUNCTIONS = {**ANALYSTS, **ENGINEERS, **REVIEWERS}

__all__ = [
    "CANDIDATES",
    "PHASE_FUNCTIONS",
    "Context",
    "Report",
    "batch_size",
    "choose",
    "dummy_baseline",
    "fmt",
    "split_scheme",
]
