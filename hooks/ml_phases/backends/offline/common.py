"""What every offline analyst shares: the backends' context and report, and formatting."""

from __future__ import annotations

import math

from ..base import CANDIDATES, Context, Report

__all__ = ["CANDIDATES", "Context", "Report", "fmt", "limit"]


def limit(name: str, value: float | None, unit: str) -> str:
    return f"{name}: {value} {unit}" if value else f"{name}: no limit"


def fmt(value: float | None, digits: int = 4) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )
