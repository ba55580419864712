"""End to end, as a user runs it: `copier copy --trust`, whose task builds .venv with the pinned
PyTorch; then the generated project's own lint and test suite, in its own environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, copier_cli

pytestmark = pytest.mark.slow


def run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("task_type", "run_phases"), [("classification", True), ("regression", False)]
)
def test_generated_project_installs_and_passes_its_own_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task_type: str, run_phases: bool
) -> None:
    # The task finds uv where a user's shell would: on PATH (here, the dev environment's).
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    project = tmp_path / "project"
    copied = copier_cli(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "HEAD",
        "--data",
        f"task_type={task_type}",
        "--data",
        f"run_phases={str(run_phases).lower()}",
        ROOT,
        project,
    )
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert "ml-flow: ready" in copied.stdout, copied.stdout

    python = project / ".venv/bin/python"
    if run_phases:  # the task ran phases 1-6 offline and stopped at the gate
        records = sorted((project / "docs/adr").glob("0*.md"))
        assert [path.name[:4] for path in records] == [f"{n:04d}" for n in range(1, 7)]
        first = records[0].read_text()
        assert "569 rows, 30 features" in first  # measured on sample:breast_cancer
        assert "status: proposed" in records[5].read_text()
        assert "Design approval needed" in copied.stdout
        status = run([project / ".venv/bin/ml-phases", "status", "--json"], project)
        assert status.returncode == 0, status.stderr
    torch_version = run([python, "-c", "import torch; print(torch.__version__)"], project)
    assert torch_version.stdout.startswith("2.13.0"), "the pinned torch_spec was not installed"

    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        assert run(command, project).returncode == 0
    for check in (["check", "."], ["format", "--check", "."]):
        linted = run([python, "-m", "ruff", *check], project)
        assert linted.returncode == 0, linted.stdout
    assert run(["git", "status", "--porcelain"], project).stdout.startswith("A ")
    assert run(["git", "diff", "--stat"], project).stdout == "", "lint changed files"

    tests = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout
