"""How every offline analyst writes numbers and limits into a report, and names the phases
it points a reader to (their numbers come from the specs)."""

from __future__ import annotations

import math

from ... import phases

PROBLEM_PHASE = phases.PROBLEM_ANALYSIS.number  # the success criterion
BAKEOFF_PHASE = phases.MODEL_ARCHITECTURE.number  # the candidates' cross-validation
FACT_CHECK_PHASE = phases.INFRASTRUCTURE_DESIGN.number  # the design's fact-checks
EXPERIMENT_PHASE = phases.MODEL_IMPLEMENTATION.number  # the experiment config
SMOKE_PHASE = phases.TRAINING_IMPLEMENTATION.number  # the short training run
HELD_OUT_PHASE = phases.FIXES_AND_VERIFICATION.number  # the full run, held-out metrics
CARD_PHASE = phases.SUMMARY.number  # the model card


def limit(name: str, value: float | None, unit: str) -> str:
    return f"{name}: {value} {unit}" if value else f"{name}: no limit"


def fmt(value: float | None, digits: int = 4) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )
