"""The engine's design phases on a project whose CLI answers are canned: phases 1-6, the gate,
resume after an interruption, approve, reject, capsules and the decision rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import (
    ANSWERS,
    BAKEOFF,
    FORECAST_ANSWERS,
    FORECAST_CONFIG,
    PROFILE,
    bakeoff,
    canned_project,
    write_project,
)
from ml_phases import adr, cli, engine
from ml_phases import state as run_state
from ml_phases.backends.base import Context
from ml_phases.backends.offline.design import (
    BLIND_SPOTS,
    WEIGHED,
    choose,
    dummy_baseline,
    prior_scores,
)
from ml_phases.backends.offline.tradeoffs import READABLE
from ml_phases.capsule import CapsuleError
from ml_phases.phases import CANDIDATE_ROLES
from ml_phases.project import Project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return canned_project(tmp_path / "churn", monkeypatch)


def statuses(root: Path) -> dict[int, str]:
    return {n: p.status for n, p in run_state.load(root).phases.items()}


def gate(root: Path) -> adr.Record:
    return adr.parse(adr.records(root / "docs/adr")[6].read_text())


def test_run_stops_at_the_gate_with_six_records(project: dict, capsys) -> None:
    assert engine.run(project["root"]) == "gate"
    records = adr.records(project["root"] / "docs/adr")
    assert sorted(records) == [1, 2, 3, 4, 5, 6]
    assert gate(project["root"]).status == "proposed"
    assert statuses(project["root"])[6] == "awaiting_approval"
    printed = capsys.readouterr().out
    assert "Phase 1 of 12: Problem Analysis\nNext: Phase 2 - Data Architecture" in printed
    assert "Next: ml-phases approve" in printed
    first = adr.parse(records[1].read_text())
    assert "200 rows, 2 features" in first.context
    assert "0.5000" in first.options[0].pros[0]  # the dummy ROC-AUC baseline


def test_gbm_wins_on_score_when_nothing_is_close(project: dict) -> None:
    engine.run(project["root"])
    assert gate(project["root"]).chosen == "pragmatic"


def test_a_cut_off_run_resumes_without_redoing_finished_phases(project: dict) -> None:
    project["outputs"]["bakeoff"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        engine.run(project["root"])
    assert sorted(adr.records(project["root"] / "docs/adr")) == [1, 2, 3]
    assert statuses(project["root"])[4] == "pending"  # no ADR, so not done
    calls_before = len(project["calls"])
    project["outputs"]["bakeoff"] = BAKEOFF
    assert engine.run(project["root"]) == "gate"
    # phases 1-3 were not run again: phase 4 measures, phase 5 counts the devices
    assert project["calls"][calls_before:] == ["bakeoff", "devices"]


def test_approve_another_option_then_run_on(project: dict, capsys) -> None:
    engine.run(project["root"])
    assert engine.approve(project["root"], "baseline") == "baseline"
    record = gate(project["root"])
    assert (record.status, record.chosen) == ("accepted", "baseline")
    assert "in place of the recommended pragmatic" in record.because
    assert engine.run(project["root"], stop=6) == "done"
    assert statuses(project["root"])[6] == "done"
    with pytest.raises(engine.EngineError, match="no design awaiting approval"):
        engine.approve(project["root"])


def test_approve_refuses_an_unknown_option(project: dict) -> None:
    engine.run(project["root"])
    with pytest.raises(engine.EngineError, match="'huge' is not one of baseline, sota"):
        engine.approve(project["root"], "huge")
    assert gate(project["root"]).status == "proposed"


def test_reject_redoes_four_and_five_with_the_reason(project: dict) -> None:
    root = project["root"]
    engine.run(root)
    assert engine.reject(root, "trees are hard to explain to the auditors") == "pragmatic"
    assert sorted(adr.records(root / "docs/adr")) == [1, 2, 3]
    assert len(list((root / ".ml-flow/history").glob("*.md"))) == 3
    assert engine.run(root) == "gate"
    redone = adr.parse(adr.records(root / "docs/adr")[4].read_text())
    assert "trees are hard to explain to the auditors" in redone.context
    assert redone.chosen == "sota"  # the rejected candidate is out
    assert "rejected at the design gate" in redone.options[2].cons


def test_reject_needs_a_reason(project: dict) -> None:
    engine.run(project["root"])
    with pytest.raises(engine.EngineError, match="needs a reason"):
        engine.reject(project["root"], "  ")


def test_a_second_concurrent_run_is_refused(project: dict) -> None:
    with run_state.locked(project["root"]), pytest.raises(run_state.StateError, match="another"):
        engine.run(project["root"])


def test_a_capsule_prefills_phase_one(project: dict, capsys) -> None:
    folder = project["root"] / ".phase0/capsules/q3-churn"
    folder.mkdir(parents=True)
    (folder / "capsule.yaml").write_text(
        yaml.safe_dump(
            {
                "goal": "Cut churn among annual plans",
                "constraints": ["no pricing features"],
                "risks": ["plan changes in June"],
                "interpretability": "required",
            }
        )
    )
    engine.run(project["root"], capsule="q3-churn")
    assert "Loaded capsule: q3-churn" in capsys.readouterr().out
    first = adr.parse(adr.records(project["root"] / "docs/adr")[1].read_text())
    assert "Loaded capsule: q3-churn" in first.context
    assert "Cut churn among annual plans" in first.context
    assert "no pricing features" in first.drivers
    assert gate(project["root"]).chosen == "baseline"  # interpretability required


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"goal": "x", "budget": 3}, "unknown key 'budget'"),
        ({"constraints": "be fast"}, "'constraints' must be a list"),
        ({"deployment_target": "cloud"}, "'deployment_target' is 'cloud'"),
        ({"key_files": ["../secret"]}, "outside the project"),
        ({"max_latency_ms": -1}, "'max_latency_ms' must be a number"),
    ],
)
def test_a_malformed_capsule_names_the_key(project: dict, content: dict, problem: str) -> None:
    folder = project["root"] / ".phase0/capsules/bad"
    folder.mkdir(parents=True)
    (folder / "capsule.yaml").write_text(yaml.safe_dump(content))
    with pytest.raises(CapsuleError, match=problem):
        engine.run(project["root"], capsule="bad")
    assert not adr.records(project["root"] / "docs/adr")


def test_records_note_backend_and_inputs(project: dict) -> None:
    engine.run(project["root"])
    record = adr.parse(adr.records(project["root"] / "docs/adr")[5].read_text())
    assert record.flow["backend"] == "offline"
    assert record.flow["agents"] == ["ml-architect"] * 2 + ["data-scientist"] * 2
    assert len(record.flow["input_fingerprint"]) == 16


@pytest.fixture
def context(tmp_path: Path) -> Callable[..., Context]:
    """A phase's context on a project with the template's catalogue, given some answers."""
    write_project(tmp_path)
    project = Project.open(tmp_path)
    return lambda **answers: Context(project, {**ANSWERS, **answers})


@pytest.mark.parametrize(
    ("answers", "scores", "expected"),
    [
        ({}, {"linear": (0.80, 0.02), "mlp": (0.84, 0.02), "gbm": (0.90, 0.01)}, "pragmatic"),
        ({}, {"linear": (0.895, 0.02), "mlp": (0.84, 0.02), "gbm": (0.90, 0.01)}, "baseline"),
        (
            {"interpretability": "none"},
            {"linear": (0.895, 0.02), "mlp": (0.84, 0.02), "gbm": (0.90, 0.01)},
            "pragmatic",
        ),
        (
            {"interpretability": "required"},
            {"linear": (0.70, 0.02), "mlp": (0.84, 0.02), "gbm": (0.90, 0.01)},
            "baseline",
        ),
        (
            {"max_latency_ms": 2, "interpretability": "none"},
            {"linear": (0.70, 0.02), "mlp": (0.95, 0.02), "gbm": (0.80, 0.01)},
            "pragmatic",
        ),
    ],
)
def test_the_choice_rule(context, answers: dict, scores: dict, expected: str) -> None:
    chosen, _ = choose(context(**answers), bakeoff(scores), set())
    assert chosen == expected


def test_no_qualifying_candidate_is_an_error(context) -> None:
    with pytest.raises(ValueError, match="no candidate meets"):
        choose(context(interpretability="required"), BAKEOFF, {"baseline"})


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("roc_auc", 0.5),
        ("pr_auc", 0.25),
        ("accuracy", 0.75),
        ("f1", 0.0),
        ("log_loss", -(0.75 * __import__("math").log(0.75) + 0.25 * __import__("math").log(0.25))),
    ],
)
def test_dummy_baselines(metric: str, expected: float) -> None:
    value = dummy_baseline(metric, PROFILE["target"], 200)
    assert value == pytest.approx(expected)


def test_the_infrastructure_design_names_the_tracker_the_project_s_config_holds(
    project: dict,
) -> None:
    """The config is the truth for what it holds: a user's edit wins over the answers."""
    config = project["root"] / "configs/default.yaml"
    edited = yaml.safe_load(config.read_text())
    edited["tracking"]["backend"] = "wandb"  # the answers still say mlflow
    config.write_text(yaml.safe_dump(edited, sort_keys=False))
    engine.run(project["root"])
    records = adr.records(project["root"] / "docs/adr")
    design = adr.parse(records[5].read_text())
    assert "tracking: wandb" in design.drivers
    assert any(line.startswith("wandb tracking") for line in design.good)
    assert "mlflow" not in records[5].read_text()
    assert "in-memory training with wandb tracking" in gate(project["root"]).context


def test_the_engine_s_own_knowledge_covers_exactly_the_catalogue(tmp_path: Path) -> None:
    """What only the engine knows (a metric's blind spot and dummy score, a model's
    readability) is keyed by the names of the projects' catalogues, each name once: a tabular
    project's and a forecasting project's."""
    write_project(tmp_path / "churn")
    write_project(tmp_path / "co2", FORECAST_ANSWERS, FORECAST_CONFIG)
    catalogues = [Project.open(tmp_path / name).catalogue for name in ("churn", "co2")]
    metrics = {name for catalogue in catalogues for name in catalogue.METRICS}
    assert set(BLIND_SPOTS) == metrics
    assert metrics >= WEIGHED
    tabular = catalogues[0]
    regression = {"name": "y", "missing": 0, "mean": 1.0, "std": 2.0}
    for task, target in (("classification", PROFILE["target"]), ("regression", regression)):
        assert tuple(prior_scores(target, 200)) == tabular.task_metrics(task)
    assert "forecasting" in {task for catalogue in catalogues for task in catalogue.TASKS}
    assert set(READABLE) == {model for catalogue in catalogues for model in catalogue.MODELS}
    for catalogue in catalogues:
        assert sorted(catalogue.MODELS.values()) == sorted(CANDIDATE_ROLES)


def test_a_capsule_s_metric_must_be_one_of_the_project_s(project: dict) -> None:
    folder = project["root"] / ".phase0/capsules/q3"
    folder.mkdir(parents=True)
    (folder / "capsule.yaml").write_text(yaml.safe_dump({"primary_metric": "brier"}))
    allowed = ", ".join(Project.open(project["root"]).catalogue.METRICS)
    with pytest.raises(CapsuleError, match=f"'primary_metric' is 'brier'; allowed: {allowed}"):
        engine.run(project["root"], capsule="q3")


@pytest.mark.parametrize(
    ("catalogue", "problem"),
    [
        ("TASKS = (\n", "cannot be read (SyntaxError"),
        ("raise RuntimeError('half-edited')\n", "cannot be read (RuntimeError: half-edited)"),
        ("TASKS = ('classification',)\nMETRICS = {}\n", "must define MODELS as a dict"),
        (None, "is missing"),
    ],
)
def test_a_broken_catalogue_is_one_line_and_writes_nothing(
    project: dict, catalogue: str | None, problem: str, capsys
) -> None:
    """A user's edit can break the project's catalogue.py; the engine says so and stops."""
    path = project["root"] / "src/churn/catalogue.py"
    if catalogue is None:
        path.unlink()
    else:
        path.write_text(catalogue)
    with pytest.raises(SystemExit) as ended:
        cli.main(["--project", str(project["root"]), "run"])
    assert ended.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert problem in error
    assert not adr.records(project["root"] / "docs/adr")
