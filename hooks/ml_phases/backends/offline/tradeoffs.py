"""How the bake-off's candidates compare: pros and cons from their measurements, and what a choice
gives up.

Every option states the same six things, each measured against the best candidate on that
measure: the gap in the primary metric, the spread across folds (and any fold that scored worse
than the dummy baseline), fit time, latency, size and how readable the model is. Being the best
on a measure is a "Good, because"; anything else is a "Bad, because" that says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .common import fmt

# How a person reads each model of the project's catalogue: the one measure that is not a number.
READABLE = {
    "linear": (True, "a person can read it: one weight per input"),
    "gbm": (False, "it is read only through feature importances or SHAP values, not directly"),
    "mlp": (False, "a person cannot read it: its weights do not map to inputs"),
}
# The costs, each lower-is-better: (result key, how to say the value, what it is).
COSTS = (
    ("fit_seconds", "{:.2f} s to fit a fold", "fastest to fit"),
    ("latency_ms_single_row", "{:.2f} ms a row", "fastest to predict"),
    ("size_kb", "{:.1f} KB", "smallest"),
)


@dataclass(frozen=True)
class Field:
    """The bake-off of the candidates, keyed by candidate name (baseline, sota, pragmatic)."""

    metric: str
    higher_is_better: bool
    results: dict[str, dict[str, Any]]
    baseline: float | None  # the dummy score, for folds that fell below it

    @classmethod
    def of(
        cls, bakeoff: dict[str, Any], baseline: float | None, candidates: dict[str, str]
    ) -> Field:
        """The bake-off's results of the candidates' models (`candidates`: role -> model)."""
        by_model = {r["model"]: r for r in bakeoff["results"]}
        results = {name: by_model[model] for name, model in candidates.items()}
        return cls(bakeoff["metric"], bakeoff["higher_is_better"], results, baseline)

    def better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b

    def best(self, key: str, lower: bool = False) -> str:
        """The candidate with the best value of `key` (ties: the earlier, simpler one)."""
        sign = -1 if lower or not self.higher_is_better else 1
        return max(self.results, key=lambda name: sign * self.results[name][key])

    def gap(self, name: str) -> tuple[str, float]:
        """The best mean's candidate and how far `name`'s mean is behind it (>= 0)."""
        top = self.best("mean")
        return top, abs(self.results[top]["mean"] - self.results[name]["mean"])

    def below_baseline(self, name: str) -> list[tuple[int, float]]:
        """The folds (1-based) that scored worse than the dummy baseline."""
        if self.baseline is None:
            return []
        folds = self.results[name].get("folds") or []
        return [(i, v) for i, v in enumerate(folds, 1) if self.better(self.baseline, v)]


def _ratio(value: float, best: float) -> str:
    return f"{value / best:.1f}x" if best > 0 else "more than"


def assess(field: Field, name: str) -> tuple[list[str], list[str]]:
    """The pros and cons of one candidate, every one of them measured."""
    r, metric = field.results[name], field.metric
    pros, cons = [], []
    top, gap = field.gap(name)
    top_std = field.results[top]["std"]
    if name == top:
        pros.append(f"the best mean {metric}: {fmt(r['mean'])}")
    elif gap <= top_std:
        pros.append(
            f"{fmt(gap)} {metric} behind the best ({top}), within the best's spread across"
            f" folds ({fmt(top_std)})"
        )
    else:
        cons.append(
            f"{fmt(gap)} {metric} behind the best ({top}), more than the best's spread across"
            f" folds ({fmt(top_std)})"
        )
    steadiest = field.best("std", lower=True)
    folds = r.get("folds") or []
    worst = (min(folds) if field.higher_is_better else max(folds)) if folds else None
    worst_text = f", worst fold {fmt(worst)}" if worst is not None else ""
    if name == steadiest:
        pros.append(f"the steadiest across folds: std {fmt(r['std'])}{worst_text}")
    else:
        cons.append(
            f"std {fmt(r['std'])} across folds, {_ratio(r['std'], field.results[steadiest]['std'])}"
            f" the steadiest ({steadiest}){worst_text}"
        )
    cons += [
        f"fold {i} scored {fmt(v)}, worse than the dummy baseline ({fmt(field.baseline)})"
        for i, v in field.below_baseline(name)
    ]
    for key, say, best_text in COSTS:
        leader = field.best(key, lower=True)
        value = say.format(r[key])
        if name == leader:
            pros.append(f"the {best_text}: {value}")
        else:
            ratio = _ratio(r[key], field.results[leader][key])
            cons.append(f"{value}, {ratio} the {best_text} ({leader})")
    readable, why = READABLE[r["model"]]
    (pros if readable else cons).append(why)
    return pros, cons


def given_up(field: Field, chosen: str, reason: str) -> tuple[list[str], list[str]]:
    """The consequences of choosing `chosen`: what it gains, and what it gives up and to whom.

    `reason` says what the choice is for ("a model a person can read"); it is attached to the
    metric the choice gives up, since that is the trade a reader most needs to see.
    """
    r, metric = field.results[chosen], field.metric
    good, bad = [], []
    top, gap = field.gap(chosen)
    if chosen == top:
        good.append(f"the best mean {metric} of the three ({fmt(r['mean'])})")
    else:
        bad.append(
            f"{fmt(gap)} {metric} below {top} ({field.results[top]['model']}), for {reason}"
            if field.higher_is_better
            else f"{fmt(gap)} {metric} above {top} ({field.results[top]['model']}), for {reason}"
        )
    steadiest = field.best("std", lower=True)
    if steadiest == chosen:
        good.append(f"the steadiest across folds of the three (std {fmt(r['std'])})")
    else:
        steady = field.results[steadiest]["std"]
        bad.append(f"std {fmt(r['std'])} across folds against {fmt(steady)} for {steadiest}")
    for key, say, best_text in COSTS:
        leader = field.best(key, lower=True)
        if leader == chosen:
            good.append(f"the {best_text} of the three ({say.format(r[key])})")
        else:
            bad.append(
                f"{say.format(r[key])} against {say.format(field.results[leader][key])}"
                f" for {leader}"
            )
    readable, why = READABLE[r["model"]]
    (good if readable else bad).append(why)
    return good, bad
