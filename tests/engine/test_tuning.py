"""Phase 11 tunes the approved model when the answers give a budget (`tuning_trials`): it runs
the project's `tune --trials N --json` and records the study; a failed study is one line in the
record, and the phase's other checks still run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import canned_project
from ml_phases import adr, engine
from ml_phases import state as run_state
from ml_phases.project import ToolError

# `churn tune --trials 30 --json` as the generated project's tune command prints it (contract 3).
STUDY = {
    "study": "churn-gbm",
    "storage": "journal:outputs/tune/churn-gbm/journal.log",
    "model": "gbm",
    "metric": "roc_auc",
    "direction": "maximize",
    "trials": {"complete": 26, "pruned": 3, "failed": 1},
    "untuned_value": 0.8812,
    "best_value": 0.9034,
    "best_params": {"model.gbm.learning_rate": 0.031, "model.gbm.max_leaf_nodes": 15},
    "best_config": "outputs/tune/churn-gbm/best.yaml",
    "seconds": 84.25,
}


def project_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trials: int | None) -> dict:
    """The canned churn project whose answers give `trials` (None: no such answer, as in a
    project generated before the question existed), run to the end of phase 11."""
    canned = canned_project(tmp_path / "churn", monkeypatch)
    answers = canned["root"] / ".copier-answers.yml"
    if trials is not None:
        answers.write_text(
            yaml.safe_dump({**yaml.safe_load(answers.read_text()), "tuning_trials": trials})
        )
    canned["outputs"]["tune"] = STUDY
    engine.run(canned["root"])
    engine.approve(canned["root"])
    return canned


def verdict(root: Path) -> adr.Record:
    return adr.parse(adr.records(root / "docs/adr")[11].read_text())


def test_a_budget_runs_the_study_and_records_it(tmp_path: Path, monkeypatch) -> None:
    project = project_with(tmp_path, monkeypatch, 30)
    root = project["root"]
    assert engine.run(root) == "done"
    assert project["calls"].count("tune") == 1
    record = verdict(root)
    assert (
        "Tuning (`tuning_trials` 30): `churn tune --trials 30` ran study `churn-gbm`: 26 trials"
        " complete, 3 pruned, 1 failed, in 84.2 s." in record.context
    )
    assert (
        "The best trial's validation roc_auc 0.9034 against 0.8812 untuned (+0.0222, better;"
        " maximize)" in record.context
    )
    assert "| `model.gbm.learning_rate` | 0.031 |" in record.context
    assert "| `model.gbm.max_leaf_nodes` | 15 |" in record.context
    assert "Best config: `outputs/tune/churn-gbm/best.yaml`" in record.context
    assert any(line.startswith("tuning: validation roc_auc 0.9034") for line in record.good)
    assert record.chosen == "accept the model"  # the held-out verdict is the untuned one's
    facts = run_state.load_facts(root).fixes_and_verification
    assert facts.tuning == STUDY
    summary = adr.parse(adr.records(root / "docs/adr")[12].read_text())
    assert "train the tuned config `outputs/tune/churn-gbm/best.yaml`" in summary.more


def test_the_study_is_given_the_budget_and_the_experiment(tmp_path: Path, monkeypatch) -> None:
    project = project_with(tmp_path, monkeypatch, 7)
    engine.run(project["root"])
    assert ("tune", ["--trials", "7"], "configs/experiment.yaml") in project["commands"]


def test_a_study_that_does_not_beat_the_defaults_says_so(tmp_path: Path, monkeypatch) -> None:
    project = project_with(tmp_path, monkeypatch, 30)
    project["outputs"]["tune"] = {**STUDY, "best_value": 0.8812}  # the defaults stayed best
    engine.run(project["root"])
    record = verdict(project["root"])
    assert "tuning: validation roc_auc 0.8812 against 0.8812 untuned (+0.0000, no better;" in (
        " ".join(record.bad)
    )
    summary = adr.parse(adr.records(project["root"] / "docs/adr")[12].read_text())
    assert "tuned config" not in summary.more


@pytest.mark.parametrize("trials", [0, None])
def test_no_budget_says_tuning_was_not_asked_for_and_how(
    tmp_path: Path, monkeypatch, trials: int | None
) -> None:
    project = project_with(tmp_path, monkeypatch, trials)
    engine.run(project["root"])
    assert "tune" not in project["calls"]
    context = verdict(project["root"]).context
    assert "Tuning: not asked for (`tuning_trials` is 0)." in context
    assert "`copier update --data tuning_trials=30`" in context
    assert "`churn tune --trials 30 --config configs/experiment.yaml`" in context
    assert run_state.load_facts(project["root"]).fixes_and_verification.tuning is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (ToolError("`churn tune` failed: optuna is not installed"), "optuna is not installed"),
        ({"study": "x", "trials": {}}, "`churn tune --json` printed no metric, direction"),
        (ValueError("Expecting value: line 1 column 1 (char 0)"), "Expecting value"),
    ],
)
def test_a_failed_study_is_one_line_and_the_checks_still_run(
    tmp_path: Path, monkeypatch, answer: Any, reason: str
) -> None:
    project = project_with(tmp_path, monkeypatch, 30)
    project["outputs"]["tune"] = answer
    assert engine.run(project["root"]) == "done"
    record = verdict(project["root"])
    (line,) = [line for line in record.bad if line.startswith("tuning failed:")]
    assert line.startswith("tuning failed: `churn tune --trials 30`: ")
    assert "Tuning failed: `churn tune --trials 30`: " in record.context
    assert reason in line
    assert "\n" not in line
    assert record.chosen == "accept the model"  # training, evaluation and tests still ran
    assert {"train", "evaluate", "tests all"} <= set(project["calls"])


def test_a_study_without_an_untuned_value_is_recorded_without_a_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A study that already held a trial of other defaults measures no untuned value (null).
    canned = canned_project(tmp_path / "churn", monkeypatch)
    answers = canned["root"] / ".copier-answers.yml"
    answers.write_text(yaml.safe_dump({**yaml.safe_load(answers.read_text()), "tuning_trials": 30}))
    canned["outputs"]["tune"] = {**STUDY, "untuned_value": None}
    engine.run(canned["root"])
    engine.approve(canned["root"])
    assert engine.run(canned["root"]) == "done"
    context = verdict(canned["root"]).context
    assert "the untuned value was not measured in this study" in context
    assert "better;" not in context
