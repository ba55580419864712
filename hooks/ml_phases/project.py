"""The generated project as the engine sees it: its answers and its command-line tools.

Agents work through the project's own CLI (`<pkg> profile | risks | bakeoff | train | …
--json`), run with the project's interpreter, as argv lists (never through a shell).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ANSWERS_FILE = ".copier-answers.yml"


class ToolError(RuntimeError):
    """A project command that failed; the message holds its last line of output."""


@dataclass(frozen=True)
class Project:
    root: Path
    answers: dict[str, Any]

    @classmethod
    def open(cls, root: Path) -> Project:
        path = root / ANSWERS_FILE
        if not path.is_file():
            raise ToolError(f"{root} is not a generated project (no {ANSWERS_FILE})")
        answers = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(root.resolve(), answers)

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])

    @property
    def python(self) -> str:
        """The project's interpreter: .venv's, else the one running the engine."""
        venv = self.root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        return str(venv) if venv.exists() else sys.executable

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run a command of the project's interpreter in the project folder."""
        return subprocess.run(
            [self.python, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli(self, command: str, *overrides: str, config: str = "configs/default.yaml") -> Any:
        """`<pkg> <command> --json` parsed; a failure is a ToolError with the tool's message."""
        result = self.run("-m", self.package, command, "--config", config, *overrides, "--json")
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            reason = lines[-1] if lines else f"exit code {result.returncode}"
            raise ToolError(f"`{self.package} {command}` failed: {reason}")
        return json.loads(result.stdout)
