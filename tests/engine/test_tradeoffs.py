"""The candidates' records argue both sides: every option states its measured gap, spread, fit
time, latency, size and readability, and the consequences say what the choice gives up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fakes import bakeoff, canned_project
from ml_phases import adr, engine

# A measured number: a decimal, a share, or a count with its unit (not "phase 4").
MEASURED = re.compile(r"\d\.\d|\d%|\d (rows|s|ms|KB|MB)\b")
# What every candidate option must state, each as a Good or a Bad line.
MEASURES = {
    "gap": ("the best mean roc_auc", "behind the best"),
    "spread": ("std ",),
    "fit time": ("to fit a fold",),
    "latency": ("ms a row",),
    "size": (" KB",),
    "readability": ("a person can read it", "a person cannot read it", "not directly"),
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return canned_project(tmp_path / "churn", monkeypatch)


def record(root: Path, number: int) -> adr.Record:
    return adr.parse(adr.records(root / "docs/adr")[number].read_text())


@pytest.mark.parametrize("number", [4, 6])
def test_every_candidate_states_every_measure(project: dict, number: int) -> None:
    engine.run(project["root"])
    for option in record(project["root"], number).options:
        lines = option.pros + option.cons
        missing = [
            m for m, marks in MEASURES.items() if not any(k in x for k in marks for x in lines)
        ]
        assert not missing, f"{option.name} does not state {missing}: {lines}"
        assert option.cons, f"{option.name} has no 'Bad, because' line"


def test_a_weak_and_unsteady_candidate_gets_its_bad_lines(project: dict) -> None:
    """The issue's case: an MLP far behind the best, with a fold below the dummy baseline."""
    project["outputs"]["bakeoff"] = bakeoff(
        {"linear": (0.989, 0.01), "mlp": (0.906, 0.106), "gbm": (0.97, 0.02)}, low_fold=0.45
    )
    engine.run(project["root"])
    mlp = next(o for o in record(project["root"], 4).options if o.name == "sota")
    assert any("0.0830 roc_auc behind the best (baseline), more than" in c for c in mlp.cons)
    assert any(c.startswith("std 0.1060 across folds, 10.6x the steadiest") for c in mlp.cons)
    assert "fold 3 scored 0.4500, worse than the dummy baseline (0.5000)" in mlp.cons


def test_the_consequences_say_what_the_choice_gives_up_and_for_what(project: dict) -> None:
    """Linear within one std of gbm is chosen for readability: the record says what it costs."""
    project["outputs"]["bakeoff"] = bakeoff(
        {"linear": (0.895, 0.02), "mlp": (0.84, 0.02), "gbm": (0.90, 0.01)}
    )
    engine.run(project["root"])
    chosen = record(project["root"], 4)
    assert chosen.chosen == "baseline"
    assert chosen.bad[0] == (
        "0.0050 roc_auc below pragmatic (gbm), for a simpler model a person can read,"
        " as interpretability is preferred"
    )
    assert "std 0.0200 across folds against 0.0100 for pragmatic" in chosen.bad
    assert "the fastest to fit of the three (0.10 s to fit a fold)" in chosen.good
    assert record(project["root"], 6).bad == chosen.bad  # the gate shows the same trade


def test_a_choice_forced_by_a_constraint_names_it(project: dict) -> None:
    project["outputs"]["bakeoff"] = bakeoff(
        {"linear": (0.70, 0.02), "mlp": (0.95, 0.02), "gbm": (0.80, 0.01)}, latency=1.0
    )
    answers = project["root"] / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "max_latency_ms: 2\ninterpretability: none\n")
    engine.run(project["root"])
    chosen = record(project["root"], 4)
    assert chosen.chosen == "pragmatic"
    assert chosen.bad[0].startswith("0.1500 roc_auc below sota (mlp), for a model that qualifies")
    assert "3.00 ms > 2 ms" in chosen.bad[0]


def test_every_record_whose_options_carry_numbers_says_what_its_choice_gives_up(
    project: dict,
) -> None:
    root = project["root"]
    engine.run(root)
    engine.approve(root)
    assert engine.run(root) == "done"
    for number, path in adr.records(root / "docs/adr").items():
        decision = adr.parse(path.read_text())
        text = " ".join(o.summary + " ".join(o.pros + o.cons) for o in decision.options)
        if MEASURED.search(text):
            assert decision.bad, f"record {number} gives up nothing: {path.name}"


def test_approving_another_candidate_records_its_own_trade(project: dict) -> None:
    root = project["root"]
    engine.run(root)
    proposed = {o.name: o for o in record(root, 6).options}
    engine.approve(root, "sota")
    accepted = record(root, 6)
    assert accepted.chosen == "sota"
    assert (accepted.good, accepted.bad) == (proposed["sota"].pros, proposed["sota"].cons)
