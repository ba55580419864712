"""`copier update` from an earlier tagged version keeps user work and runs no task."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, copier_cli

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return result.stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


def test_update_keeps_user_work_and_runs_no_task(tmp_path: Path) -> None:
    template = tmp_path / "template-repo"
    skip = shutil.ignore_patterns(".git", ".venv", "demo-project", "__pycache__")
    shutil.copytree(ROOT, template, ignore=skip)
    git(template, "init", "-q")
    commit_all(template, "template v1")
    git(template, "tag", "v0.1.0")

    project = tmp_path / "project"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--skip-tasks", "--vcs-ref", "v0.1.0", template, project
    )
    assert copied.returncode == 0, copied.stderr
    git(project, "init", "-q")
    commit_all(project, "generated")
    with (project / "README.md").open("a") as readme:
        readme.write("\nOur own notes: keep me.\n")
    (project / "docs/adr/0001-problem-analysis.md").write_text("# 1. Problem analysis\n")
    commit_all(project, "user work")

    with (template / "template/Makefile.jinja").open("a") as makefile:
        makefile.write("\nhello:\n\t@echo hello from v2\n")
    (template / "template/CHANGELOG.md").write_text("# Changelog\n\n- v0.2.0\n")
    commit_all(template, "template v2")
    git(template, "tag", "v0.2.0")

    updated = copier_cli("update", "--trust", "--defaults", "--vcs-ref", "v0.2.0", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "ml-flow:" not in updated.stdout + updated.stderr, "a task ran during update"
    assert not (project / ".venv").exists()

    changed = sorted(line[3:] for line in git(project, "status", "--porcelain").splitlines())
    assert changed == [".copier-answers.yml", "CHANGELOG.md", "Makefile"]
    assert "hello from v2" in (project / "Makefile").read_text()
    assert "Our own notes: keep me." in (project / "README.md").read_text()
    assert (project / "docs/adr/0001-problem-analysis.md").read_text() == "# 1. Problem analysis\n"
    assert "_commit: v0.2.0" in (project / ".copier-answers.yml").read_text()
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(errors="replace")
            assert not re.search(r"^(<<<<<<<|>>>>>>>) ", text, re.MULTILINE), path
            assert path.suffix != ".rej", path
