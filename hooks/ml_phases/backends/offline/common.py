"""How every offline analyst writes numbers and limits into a report, and names the phases
it points a reader to (their numbers come from the specs)."""

from __future__ import annotations

import math
import os

from ... import phases

PROBLEM_PHASE = phases.PROBLEM_ANALYSIS.number  # the success criterion
RISK_PHASE = phases.RISK_ASSESSMENT.number  # the validation scheme
BAKEOFF_PHASE = phases.MODEL_ARCHITECTURE.number  # the candidates' cross-validation
FACT_CHECK_PHASE = phases.INFRASTRUCTURE_DESIGN.number  # the design's fact-checks
EXPERIMENT_PHASE = phases.MODEL_IMPLEMENTATION.number  # the experiment config
SMOKE_PHASE = phases.TRAINING_IMPLEMENTATION.number  # the short training run
SERVE_PHASE = phases.INTEGRATION.number  # the serving benchmark
HELD_OUT_PHASE = phases.FIXES_AND_VERIFICATION.number  # the full run, held-out metrics
CARD_PHASE = phases.SUMMARY.number  # the model card

# The metrics of the catalogue a problem analysis weighs against the one the answers name, when
# they score the same task (phase 11 reports every metric of the task beside it).
WEIGHED = frozenset({"roc_auc", "pr_auc", "accuracy", "rmse", "mae", "r2", "mase", "smape"})
# What each primary metric does not see: the price of choosing it (one for each metric of the
# project's catalogue).
BLIND_SPOTS = {
    "roc_auc": "ranks rows: it ignores calibration and the decision threshold",
    "pr_auc": "looks at the positive class only",
    "accuracy": "counts every error alike and hides a minority class's errors",
    "f1": "depends on the 0.5 threshold and ignores true negatives",
    "log_loss": "is dominated by a few confident mistakes",
    "rmse": "lets a few large errors dominate",
    "mae": "does not weigh a large error more than several small ones",
    "r2": "depends on how much the target varies in the test rows",
    "mase": "is a ratio to the seasonal naive error, not an error in the target's units",
    "smape": "treats over- and under-forecasts unequally and is unstable near zero",
}


def limit(name: str, value: float | None, unit: str) -> str:
    return f"{name}: {value} {unit}" if value else f"{name}: no limit"


def fmt(value: float | None, digits: int = 4) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.{digits}f}")
    )


def machine_memory_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None
