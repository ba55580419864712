"""A stand-in generated project for fault tests: the real engine CLI, tools that answer fast.

`make(root)` writes a project (answers, configs, modules, a git repository) whose
`.venv/bin/python` is this file: `-m churn <command> --json` prints the canned table of
fakes, `-m pytest --junitxml=X` writes a green JUnit report, `-m ruff` finds nothing.
So `ml-phases run` runs for real, as a separate process that can be killed at any moment,
in seconds instead of minutes. `.stand-in.json` in the project slows the tools down
(`slow`: seconds each, to widen the windows a kill can hit) or makes `hang` (a command) start
a grandchild and wait, both then writing outputs/late-*: what outlives a killed run shows.
Every tool that finishes appends a line to outputs/tool-writes.log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2] / "hooks"))

SETTINGS = ".stand-in.json"
WRITES = "outputs/tool-writes.log"
HANG_SECONDS = 8.0  # how long a hanging command and its grandchild wait before they write
HOOKS = Path(__file__).resolve().parents[2] / "hooks"


def git(root: Path, *args: str) -> str:
    identity = ("-c", "user.name=t", "-c", "user.email=t@t")
    done = subprocess.run(
        ["git", *identity, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


def make(root: Path, **settings: object) -> Path:
    """A stand-in project at root, committed as its first commit; settings go to SETTINGS."""
    from fakes import write_project

    write_project(root)
    with (root / ".gitignore").open("a") as ignored:  # the template's, and the stand-in's file
        ignored.write(f"{SETTINGS}\n")
    (root / SETTINGS).write_text(json.dumps(settings))
    python = root / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    python.chmod(0o755)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    return root


def cli(root: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    """`ml-phases --project root ARGS` as a user starts it, in its own process."""
    env = {**os.environ, "PYTHONPATH": str(HOOKS)}
    return subprocess.Popen(
        [sys.executable, "-m", "ml_phases", "--project", str(root), *args],
        env=env,
        text=True,
        **popen,  # type: ignore[arg-type]
    )


def junit(path: Path) -> None:
    cases = "".join(f'<testcase classname="t" name="test_{n}" time="0.01"/>' for n in range(12))
    path.write_text(f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')


def tool(argv: list[str]) -> int:
    """What the project's interpreter answers for one command line."""
    from fakes import tables

    root = Path.cwd()
    settings = json.loads((root / SETTINGS).read_text())
    if argv[0] == "-c":  # the device count: what the project's torch sees
        print(tables()["devices"].stdout, end="")
        return 0
    if argv[0].endswith(".py"):  # a benchmark script of the project's
        argv = ["-m", Path(argv[0]).stem, *argv[1:]]
    module, rest = argv[1], argv[2:]
    name = rest[0] if module == "churn" else module
    (root / "outputs").mkdir(exist_ok=True)
    if settings.get("hang") == name:  # start a grandchild; both write late, if still alive
        late = f"import time; time.sleep({HANG_SECONDS}); open('outputs/late-grandchild', 'w')"
        grandchild = subprocess.Popen([sys.executable, "-c", late])
        (root / "outputs/child.pid").write_text(str(os.getpid()))
        (root / "outputs/grandchild.pid").write_text(str(grandchild.pid))
        time.sleep(HANG_SECONDS)
        (root / "outputs/late-child").write_text("written after the kill")
    time.sleep(float(settings.get("slow", 0)))
    with (root / WRITES).open("a") as log:
        log.write(f"{time.time()} {name}\n")
    if module == "pytest":
        report = next(arg.split("=", 1)[1] for arg in rest if arg.startswith("--junitxml="))
        junit(Path(report))
        return 0
    if module == "ruff":
        print("[]")  # ruff 0.17: check and format --check both speak JSON
        return 0
    print(json.dumps(tables()[name]))
    return 0


if __name__ == "__main__":
    sys.exit(tool(sys.argv[1:]))
