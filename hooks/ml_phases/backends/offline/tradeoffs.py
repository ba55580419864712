"""How the bake-off's candidates compare: pros and cons from their measurements, and what a choice
gives up.

Every option states the same six things, each measured against the best candidate on that
measure: the gap in the primary metric, the spread across folds (and any fold that scored worse
than the dummy baseline), fit time, latency, size and how readable the model is. A forecasting
bake-off's folds are walk-forward origins, and its baseline is the seasonal-naive reference
scored at each of them. Being the best
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
    "ets": (True, "a person can read it: a level, a trend and a seasonal component"),
    "gru": (False, "a person cannot read it: its hidden state does not map to inputs"),
}
# The costs, each lower-is-better: (result key, how to say the value, what it is); {fit} and
# {per} are the Field's words for one fit and one prediction.
COSTS = (
    ("fit_seconds", "{:.2f} s to fit {fit}", "fastest to fit"),
    ("latency_ms_single_row", "{:.2f} ms {per}", "fastest to predict"),
    ("size_kb", "{:.1f} KB", "smallest"),
)


@dataclass(frozen=True)
class Field:
    """The bake-off of the candidates, keyed by candidate name (baseline, sota, pragmatic)."""

    metric: str
    higher_is_better: bool
    results: dict[str, dict[str, Any]]
    baseline: float | None  # the dummy score, for folds that fell below it
    unit: str = "fold"  # what the bake-off scores a candidate on: a fold, or an origin
    fit: str = "a fold"  # one fit, as a cost names it
    per: str = "a row"  # one prediction, as a latency names it
    baseline_name: str = "the dummy baseline"
    reference: list[float] | None = None  # the baseline's own score at each fold (forecasting)

    @classmethod
    def of(
        cls, bakeoff: dict[str, Any], baseline: float | None, candidates: dict[str, str]
    ) -> Field:
        """The bake-off's results of the candidates' models (`candidates`: role -> model).

        A walk-forward bake-off carries its reference (seasonal naive), scored at the same
        origins: it is the baseline, compared origin by origin."""
        by_model = {r["model"]: r for r in bakeoff["results"]}
        results = {name: by_model[model] for name, model in candidates.items()}
        reference = bakeoff.get("reference")
        if reference is None:
            return cls(bakeoff["metric"], bakeoff["higher_is_better"], results, baseline)
        return cls(
            bakeoff["metric"],
            bakeoff["higher_is_better"],
            results,
            reference["mean"],
            unit="origin",
            fit="at an origin",
            per="a forecast",
            baseline_name=reference["model"].replace("_", " "),
            reference=list(reference.get("folds") or []) or None,
        )

    def say(self, template: str, value: float) -> str:
        return template.format(value, fit=self.fit, per=self.per)

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

    def below_baseline(self, name: str) -> list[tuple[int, float, float]]:
        """The folds (1-based) that scored worse than the baseline, with the baseline's score
        there: the dummy's everywhere, or the reference's own at that origin."""
        if self.baseline is None:
            return []
        folds = self.results[name].get("folds") or []
        bars = self.reference if self.reference and len(self.reference) == len(folds) else None
        return [
            (i, v, bar)
            for i, v in enumerate(folds, 1)
            for bar in [bars[i - 1] if bars else self.baseline]
            if self.better(bar, v)
        ]


def _ratio(value: float, best: float) -> str:
    return f"{value / best:.1f}x" if best > 0 else "more than"


def assess(field: Field, name: str) -> tuple[list[str], list[str]]:
    """The pros and cons of one candidate, every one of them measured."""
    r, metric = field.results[name], field.metric
    pros, cons = [], []
    top, gap = field.gap(name)
    top_std = field.results[top]["std"]
    unit = field.unit
    if name == top:
        pros.append(f"the best mean {metric}: {fmt(r['mean'])}")
    elif gap <= top_std:
        pros.append(
            f"{fmt(gap)} {metric} behind the best ({top}), within the best's spread across"
            f" {unit}s ({fmt(top_std)})"
        )
    else:
        cons.append(
            f"{fmt(gap)} {metric} behind the best ({top}), more than the best's spread across"
            f" {unit}s ({fmt(top_std)})"
        )
    if field.reference is not None and field.baseline is not None:  # the yardstick itself
        beats = field.better(r["mean"], field.baseline)
        (pros if beats else cons).append(
            f"mean {metric} {fmt(r['mean'])} {'beats' if beats else 'does not beat'}"
            f" {field.baseline_name} ({fmt(field.baseline)}) over the same {unit}s"
        )
    steadiest = field.best("std", lower=True)
    folds = r.get("folds") or []
    worst = (min(folds) if field.higher_is_better else max(folds)) if folds else None
    worst_text = f", worst {unit} {fmt(worst)}" if worst is not None else ""
    if name == steadiest:
        pros.append(f"the steadiest across {unit}s: std {fmt(r['std'])}{worst_text}")
    else:
        cons.append(
            f"std {fmt(r['std'])} across {unit}s,"
            f" {_ratio(r['std'], field.results[steadiest]['std'])}"
            f" the steadiest ({steadiest}){worst_text}"
        )
    cons += [
        f"{unit} {i} scored {fmt(v)}, worse than {field.baseline_name} ({fmt(bar)})"
        for i, v, bar in field.below_baseline(name)
    ]
    for key, say, best_text in COSTS:
        leader = field.best(key, lower=True)
        value = field.say(say, r[key])
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
        good.append(f"the steadiest across {field.unit}s of the three (std {fmt(r['std'])})")
    else:
        steady = field.results[steadiest]["std"]
        bad.append(
            f"std {fmt(r['std'])} across {field.unit}s against {fmt(steady)} for {steadiest}"
        )
    for key, say, best_text in COSTS:
        leader = field.best(key, lower=True)
        if leader == chosen:
            good.append(f"the {best_text} of the three ({field.say(say, r[key])})")
        else:
            bad.append(
                f"{field.say(say, r[key])} against {field.say(say, field.results[leader][key])}"
                f" for {leader}"
            )
    readable, why = READABLE[r["model"]]
    (good if readable else bad).append(why)
    return good, bad
