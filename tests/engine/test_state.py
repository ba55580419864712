"""Run state: atomic, reconciled with the ADRs on disk, locked, and strict about corruption."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fakes import record
from ml_phases import state as run_state
from ml_phases.adr import write
from ml_phases.phases import AgentFacts, Facts, RiskAssessmentFacts
from ml_phases.state import StateError
from pydantic_core import PydanticSerializationError


def test_a_new_project_has_twelve_pending_phases(tmp_path: Path) -> None:
    state = run_state.load(tmp_path)
    assert [p.status for p in state.phases.values()] == ["pending"] * 12


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    state = run_state.load(tmp_path)
    state.approval.reasons.append("too slow for realtime")
    state.phases[2].note = "three explorers"
    run_state.save(tmp_path, state)
    again = run_state.load(tmp_path)
    assert again.approval.reasons == ["too slow for realtime"]
    assert again.phases[2].note == "three explorers"


def test_a_phase_is_done_only_when_its_adr_is_on_disk(tmp_path: Path) -> None:
    state = run_state.load(tmp_path)
    state.phases[1].status = "done"  # claimed, but no ADR: a run killed mid-phase
    state.phases[2].status = "running"
    run_state.save(tmp_path, state)
    write(record(2), tmp_path / "docs/adr")  # the ADR landed, the state save did not
    loaded = run_state.load(tmp_path)
    assert loaded.phases[1].status == "pending"
    assert loaded.phases[2].status == "done"
    assert loaded.phases[2].adr == "docs/adr/0002-model-architecture-gradient-boosted-trees.md"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"version": 1}), "phases: Field required"),
        (
            json.dumps(
                {"version": 1, "phases": {"1": {"status": "done"}}, "approval": {}, "capsule": None}
            ),
            "it must list phases 1 to 12",
        ),
    ],
)
def test_a_corrupt_state_is_reported_not_guessed(tmp_path: Path, content: str, problem: str):
    path = tmp_path / ".ml-flow/state.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(StateError, match=problem):
        run_state.load(tmp_path)
    assert path.read_text() == content  # left for the user to inspect


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    with (
        run_state.locked(tmp_path),
        pytest.raises(StateError, match="another ml-phases run"),
        run_state.locked(tmp_path),
    ):
        pass
    with run_state.locked(tmp_path):  # released on exit
        pass


def test_status_command(tmp_path: Path) -> None:
    write(record(1), tmp_path / "docs/adr")
    command = [sys.executable, "-m", "ml_phases", "--project", str(tmp_path), "status"]
    env = {"PYTHONPATH": str(ROOT / "hooks")}
    shown = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "1 of 12 phases done" in shown.stdout
    rows = json.loads(
        subprocess.run(
            [*command, "--json"], capture_output=True, text=True, env=env, check=True
        ).stdout
    )
    assert [row["status"] for row in rows][:2] == ["done", "pending"]

    (tmp_path / ".ml-flow").mkdir()
    (tmp_path / ".ml-flow/state.json").write_text("{broken")
    broken = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert broken.returncode == 2
    assert broken.stderr.startswith("ml-phases: error:")
    assert len(broken.stderr.strip().splitlines()) == 1


def test_facts_are_kept_by_slug_and_read_back_as_their_dataclasses(tmp_path: Path) -> None:
    risks = RiskAssessmentFacts(risks=[], split="random split", split_column=None, kinds=[])
    facts = Facts(data_architecture=AgentFacts(chosen="polars"), risk_assessment=risks)
    run_state.save_facts(tmp_path, facts)
    path = tmp_path / ".ml-flow/facts.json"
    on_disk = json.loads(path.read_text())
    assert list(on_disk) == ["data-architecture", "risk-assessment"]
    assert run_state.load_facts(tmp_path) == facts
    assert run_state.load_facts(tmp_path).risk_assessment.split == "random split"
    on_disk["risk-assessment"]["split"] = 3
    path.write_text(json.dumps(on_disk))
    with pytest.raises(StateError, match=r"risk-assessment\.offline\.split: .* \(found 3\)"):
        run_state.load_facts(tmp_path)


def test_only_the_layout_module_names_the_engine_s_folders() -> None:
    hooks = ROOT / "hooks"
    naming = [
        path.relative_to(hooks).as_posix()
        for path in sorted(hooks.rglob("*.py"))
        if '".ml-flow"' in path.read_text() or '"docs/adr"' in path.read_text()
    ]
    assert naming == ["ml_phases/layout.py"]


def test_ctrl_c_while_the_state_is_serialised_is_a_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic-core hands a KeyboardInterrupt raised inside it back wrapped in its own error;
    the engine must still stop as on Ctrl-C (exit 130, resumable), not with a traceback."""

    def interrupted(*args: object, **kwargs: object) -> str:
        raise PydanticSerializationError("Error serializing to JSON: KeyboardInterrupt: ")

    monkeypatch.setattr(run_state.RunState, "model_dump_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_state.RunState.fresh().to_json()
