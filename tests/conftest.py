"""Helpers shared by the template's tests: rendering through Copier's API and its CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]
# Renders made by tests skip the environment build (the one end-to-end test turns it on).
FAST = {"setup_env": False}
# Jinja openers: closers ("}}", "%}") also occur in Python (nested dicts, f"{x:.1%}").
MARKERS = ("{{", "{%")


def render(dest: Path, **answers: Any) -> Path:
    """Render the working tree of the template with defaults plus `answers`; no tasks run."""
    run_copy(
        str(ROOT),
        dest,
        data={**FAST, **answers},
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return dest


def copier_cli(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Copier's own command line, as a user runs it (stdout and stderr together)."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def rendered_files(project: Path) -> list[str]:
    return sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".venv" not in path.parts and ".git" not in path.parts
    )


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One default render shared by the tests that only read it."""
    return render(tmp_path_factory.mktemp("default") / "project")


# markdownlint-cli2 (node) lints what the engine writes with the generated project's own config.
MARKDOWNLINT_VERSION = "0.22.1"
MARKDOWNLINT_CONFIG = ROOT / "template/.markdownlint-cli2.yaml"


@pytest.fixture(scope="session")
def markdownlint() -> Callable[[list[Path]], subprocess.CompletedProcess[str]]:
    """Lint Markdown files with markdownlint-cli2 and the template's config.

    The tool is installed once with npm into .venv/node (git-ignored, rebuilt with .venv);
    only where npm itself is missing is the test skipped.
    """
    prefix = ROOT / ".venv/node"
    binary = prefix / "node_modules/.bin/markdownlint-cli2"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed, so markdownlint-cli2 cannot be")
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"markdownlint-cli2@{MARKDOWNLINT_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )

    def lint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), "--config", str(MARKDOWNLINT_CONFIG), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return lint
