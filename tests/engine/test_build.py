"""Phases 7-12 on a project whose tools answer from tables: the files the engineers write,
green tests or an undone phase, one commit per phase, the verdict and the model card."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import (
    ANSWERS,
    DEFAULT_CONFIG,
    GREEN,
    RED,
    RISKS,
    assert_written_tests_lint_clean,
    canned_project,
    completed,
    evaluation,
    metric,
)
from ml_phases import adr, engine, journal
from ml_phases import state as run_state
from ml_phases.backends.offline.design import batch_size
from ml_phases.changes import Snapshot
from ml_phases.project import ToolError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A canned project approved at the gate, phases 1-6 done."""
    canned = canned_project(tmp_path / "churn", monkeypatch)
    engine.run(canned["root"])
    engine.approve(canned["root"])
    canned["calls"].clear()
    return canned


def statuses(root: Path) -> dict[int, str]:
    return {n: p.status for n, p in run_state.load(root).phases.items()}


def record(root: Path, number: int) -> adr.Record:
    return adr.parse(adr.records(root / "docs/adr")[number].read_text())


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def test_the_rest_of_the_run_writes_twelve_records_and_a_model_card(project: dict) -> None:
    root = project["root"]
    assert engine.run(root) == "done"
    assert sorted(adr.records(root / "docs/adr")) == list(range(1, 13))
    assert set(statuses(root).values()) == {"done"}
    experiment = yaml.safe_load((root / "configs/experiment.yaml").read_text())
    assert experiment["model"]["name"] == "gbm"  # the approved pragmatic candidate
    assert experiment["train"] == DEFAULT_CONFIG["train"]  # batch size matters for the mlp only
    assert "gbm" in (root / "tests/test_experiment.py").read_text()
    card = (root / "docs/model_card.md").read_text()
    assert "| roc_auc | 0.8700 | [0.7800, 0.9400] | 0.5000 |" in card
    assert "beats the baseline on roc_auc" in card
    verdict = record(root, 11)
    assert verdict.chosen == "accept the model"
    # The engineers' test runs: the changed test files in 7 and 9, the whole suite in 11.
    tests = [call for call in project["calls"] if call.startswith("tests")]
    assert tests == [
        "tests tests/test_experiment.py",
        "tests tests/test_integration.py",
        "tests all",
    ]


def test_written_tests_compile_and_pass_the_projects_lint(project: dict) -> None:
    root = project["root"]
    engine.run(root)
    assert_written_tests_lint_clean(root)


def test_a_code_phase_with_red_tests_fails_and_leaves_no_change(project: dict, capsys) -> None:
    root = project["root"]
    project["outputs"]["tests"] = RED
    assert engine.run(root) == "failed"
    assert not (root / "configs/experiment.yaml").exists()
    assert not (root / "tests/test_experiment.py").exists()
    assert 7 not in adr.records(root / "docs/adr")
    state = run_state.load(root).phases[7]
    assert state.status == "failed"
    assert "test_x: assert 1 == 2" in state.note
    assert "Phase 7 failed" in capsys.readouterr().out
    project["outputs"]["tests"] = GREEN
    assert engine.run(root) == "done"  # the cause is gone: the run resumes at phase 7


def test_a_run_cut_off_in_a_code_phase_restores_its_files_and_resumes(project: dict) -> None:
    root = project["root"]
    project["outputs"]["predict"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        engine.run(root)
    assert sorted(adr.records(root / "docs/adr")) == list(range(1, 9))
    assert not (root / "tests/test_integration.py").exists()  # phase 9's file was put back
    seventh = adr.records(root / "docs/adr")[7].read_text()
    project["outputs"]["predict"] = {"rows": 200}
    project["calls"].clear()
    assert engine.run(root) == "done"
    assert adr.records(root / "docs/adr")[7].read_text() == seventh  # not redone
    assert "tests tests/test_experiment.py" not in project["calls"]


def test_a_killed_run_s_half_written_phase_is_put_back_by_the_next_run(
    project: dict, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    root = project["root"]
    restore, forget = Snapshot.restore, journal.forget
    project["outputs"]["predict"] = KeyboardInterrupt()  # stands in for a kill in phase 9,
    monkeypatch.setattr(Snapshot, "restore", lambda self, keep=None: [])  # cleans up nothing
    monkeypatch.setattr(journal, "forget", lambda folder: None)
    with pytest.raises(KeyboardInterrupt):
        engine.run(root)
    assert (root / "tests/test_integration.py").exists()
    monkeypatch.setattr(Snapshot, "restore", restore)
    monkeypatch.setattr(journal, "forget", forget)
    engine.run(root, stop=8)  # a later run, of any range, puts phase 9's file back first
    assert "Put back what phase 9 had changed: tests/test_integration.py" in capsys.readouterr().out
    assert not (root / "tests/test_integration.py").exists()


def test_each_phase_is_one_commit_of_its_own_files(project: dict) -> None:
    root = project["root"]
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    (root / "notes.txt").write_text("a user's file, not the engine's")
    (root / "src/churn/models.py").write_text('"""A user\'s edit of a file phase 7 owns."""\n')
    engine.run(root)
    subjects = git(root, "log", "--format=%s").splitlines()
    assert subjects[:6] == [
        f"Phase {n} of 12: {phase}"
        for n, phase in [
            (12, "Summary"),
            (11, "Fixes & Verification"),
            (10, "Quality Review"),
            (9, "Integration"),
            (8, "Training Implementation"),
            (7, "Model Implementation"),
        ]
    ]
    seventh = git(root, "show", "--name-only", "--format=", "HEAD~5").split()
    assert set(seventh) == {
        "configs/experiment.yaml",
        "tests/test_experiment.py",
        "docs/adr/README.md",
        *(f"docs/adr/{adr.records(root / 'docs/adr')[7].name}",),
    }
    assert git(root, "status", "--porcelain").splitlines() == [
        " M src/churn/models.py",  # owned by phases 7 and 11, changed by neither
        "?? notes.txt",
    ]


def test_review_findings_reach_the_records(project: dict) -> None:
    root = project["root"]
    (root / "src/churn/evaluate.py").write_text(
        "def evaluate(model, rows):\n    return [model(row) for row in rows]\n"
    )
    engine.run(root)
    review = record(root, 10)
    assert review.title == "Quality review: 1 finding at confidence >= 80"
    assert "`src/churn/evaluate.py:2`" in review.context
    assert "model.eval()" in record(root, 11).bad[1]
    assert "fix `src/churn/evaluate.py:2`" in record(root, 12).more


def test_ruff_safe_fixes_are_applied_to_owned_files_only(project: dict) -> None:
    root = project["root"]
    owned = root / "src/churn/models.py"
    violation = {
        "code": "F401",
        "message": "`os` imported but unused",
        "filename": str(owned),
        "location": {"row": 1, "column": 1},
        "fix": {"applicability": "safe"},
    }
    project["outputs"]["ruff check"] = completed(json.dumps([violation]))
    engine.run(root)
    fixes = [call for call in project["calls"] if call.startswith("ruff")]
    assert fixes.count("ruff check") == 3  # review, the fix, the review after it
    assert "ruff F401 (safe fix)" in record(root, 10).context


def test_a_model_that_does_not_beat_the_baseline_is_not_accepted(project: dict) -> None:
    root = project["root"]
    project["outputs"]["evaluate"] = evaluation(metric(0.55, 0.5, 0.45, 0.66), beats=False)
    engine.run(root)
    assert record(root, 11).chosen == "do not accept yet"
    assert record(root, 12).chosen == "revisit the design"
    assert "does not clearly beat" in (root / "docs/model_card.md").read_text()


def test_the_design_sets_the_time_column_and_class_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned = canned_project(tmp_path / "churn", monkeypatch)
    canned["outputs"]["risks"] = {
        **RISKS,
        "risks": [
            {"kind": "time_order", "severity": "high", "message": "dates", "columns": ["day"]},
            {"kind": "imbalance", "severity": "medium", "message": "5% positives"},
        ],
    }
    root = canned["root"]
    engine.run(root)
    engine.approve(root, "sota")
    engine.run(root, stop=7)
    experiment = yaml.safe_load((root / "configs/experiment.yaml").read_text())
    assert experiment["data"]["time_column"] == "day"
    assert experiment["loss"]["class_weights"] == "balanced"
    assert experiment["model"]["name"] == "mlp"
    assert experiment["train"]["batch_size"] == 16  # 200 rows x 0.6 = 120 training rows
    assert "temporal split" in record(root, 3).chosen


@pytest.mark.parametrize(
    ("rows", "ceiling", "expected"),
    [(120, 256, 16), (1000, 256, 64), (100_000, 256, 256), (100_000, 100, 64)],
)
def test_batch_size_gives_eight_steps_an_epoch(rows: int, ceiling: int, expected: int) -> None:
    assert batch_size(rows, ceiling) == expected


def test_answers_reach_the_model_card(project: dict) -> None:
    engine.run(project["root"])
    card = (project["root"] / "docs/model_card.md").read_text()
    assert f"Goal: {ANSWERS['goal']}" in card
    assert "`data/churn.csv`, 200 rows" in card


def test_a_capsule_s_data_answers_reach_the_experiment_and_later_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    canned = canned_project(tmp_path / "churn", monkeypatch)
    root = canned["root"]
    folder = root / ".phase0/capsules/q3"
    folder.mkdir(parents=True)
    (folder / "capsule.yaml").write_text(yaml.safe_dump({"primary_metric": "pr_auc"}))
    engine.run(root, capsule="q3")
    engine.approve(root)
    engine.run(root, stop=7)  # no --capsule: the run remembers it
    assert capsys.readouterr().out.count("Loaded capsule: q3") == 2
    experiment = yaml.safe_load((root / "configs/experiment.yaml").read_text())
    assert experiment["primary_metric"] == "pr_auc"
    assert '"primary_metric": "pr_auc"' in (root / "tests/test_experiment.py").read_text()


def test_a_ruff_that_cannot_run_is_an_error_not_a_clean_review(project: dict) -> None:
    project["outputs"]["ruff check"] = subprocess.CompletedProcess([], 2, "", "bad config")
    with pytest.raises(ToolError, match="ruff check could not check the project: bad config"):
        engine.run(project["root"])
    assert 10 not in adr.records(project["root"] / "docs/adr")


def test_missing_facts_name_the_phases_to_redo(project: dict) -> None:
    (project["root"] / ".ml-flow/facts.json").write_text("{}")
    with pytest.raises(engine.EngineError, match=r"needs what phases 1, 2, 3, 4, 5, 6 measured"):
        engine.run(project["root"])
