"""Phase 1 by a real Claude agent: runs only with ANTHROPIC_API_KEY set (a few cents on
claude-haiku-5-5), skipped otherwise. Everything else about the backend is tested offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import canned_project
from ml_phases import adr, engine
from ml_phases.backends.claude.settings import Flags
from ml_phases.project import Project

KEY = os.environ.get("ANTHROPIC_API_KEY", "")
REAL_RUN = Project.run

pytestmark = pytest.mark.skipif(not KEY, reason="needs ANTHROPIC_API_KEY (a live API call)")


def test_a_real_agent_frames_the_problem_within_a_small_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned = canned_project(tmp_path / "churn", monkeypatch)
    monkeypatch.setattr(Project, "run", REAL_RUN)
    root = canned["root"]
    flags = Flags(model="claude-haiku-5-5", budget_usd=0.25, max_turns=15, phase_minutes=5)
    assert engine.run(root, stop=1, backend="claude", claude=flags) == "done"
    record = adr.parse(adr.records(root / "docs/adr")[1].read_text())
    assert record.flow["backend"] == "claude"
    assert 0 < record.flow["cost_usd"] <= 0.25 + 0.05  # one reply may cross the budget
    assert record.flow["tokens"]["output"] > 0
    files = [p for p in root.rglob("*") if p.is_file()]
    assert not [p for p in files if KEY.encode() in p.read_bytes()]
