"""Copier's post-copy task: build the new project's environment and check that it runs.

Standard library only: Copier runs it with its own interpreter, where only Copier's
dependencies exist. It runs in the new project's folder and always exits 0, because a failing
task makes Copier delete the whole new project; instead it says what happened and what to run
next. Arguments arrive as an argv list (never through a shell).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def say(message: str) -> None:
    print(f"ml-flow: {message}", flush=True)


def venv_python(project: Path) -> Path:
    return project / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


ENGINE = Path(__file__).resolve().parent  # hooks/: the ml_phases package ships beside this file
IDENTITY = ["-c", "user.name=ml-flow-template", "-c", "user.email=ml-flow-template@localhost"]


def init_repository(project: Path) -> None:
    """Make the new project a git repository with one commit of the generated files.

    The phases then commit one change each, and `copier update` needs a repository. Skipped
    without git, or when the project is part of another repository (one that does not ignore
    its folder).
    """
    if shutil.which("git") is None:
        say("git not found: the project is not a repository; phases will not be committed")
        return

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=project, capture_output=True, text=True, check=False
        )

    top = git("rev-parse", "--show-toplevel")
    if top.returncode == 0 and Path(top.stdout.strip()).resolve() == project.resolve():
        say("the project is a git repository already; the phases will commit there")
        return
    if top.returncode == 0 and git("check-ignore", "--quiet", ".").returncode != 0:
        say("the project is part of another git repository; its files are left uncommitted")
        return
    named = all(git("config", key).stdout.strip() for key in ("user.name", "user.email"))
    identity = [] if named else IDENTITY  # as ml_phases.changes.commit does
    for args in (["init", "--quiet"], ["add", "--all"]):
        git(*args)
    done = git(
        *identity, "commit", "--quiet", "--no-verify", "-m", "Generate from ml-flow-template"
    )
    say("git repository created" if done.returncode == 0 else f"git commit failed: {done.stderr}")


def steps(
    project: Path, package: str, run_phases: bool, auto_approve: bool, backend: str = "offline"
) -> list[tuple[str, list[str]]]:
    """What the task runs, in order, each a name and an argv list.

    With the claude backend the engine comes with its SDK; without an API key in the
    environment the phases wait (the engine would stop at once asking for one).
    """
    python = str(venv_python(project))
    engine = f"{ENGINE}[claude]" if backend == "claude" else str(ENGINE)
    build = [sys.executable, "scripts/setup_env.py", "--also", engine]
    planned = [("build .venv", build), ("profile the data", [python, "-m", package, "profile"])]
    keyed = any(os.environ.get(name) for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"))
    if run_phases and backend == "claude" and not keyed:
        say("agent_backend is claude and ANTHROPIC_API_KEY is not set: the phases did not run.")
        say("set it, then run: .venv/bin/ml-phases run (or --backend offline)")
    elif run_phases:
        phases = [python, "-m", "ml_phases"]
        planned.append(("run the design phases", [*phases, "run"]))
        if auto_approve:
            planned += [
                ("approve the design", [*phases, "approve"]),
                ("run the remaining phases", [*phases, "run"]),
            ]
    return planned


def run(project: Path, planned: list[tuple[str, list[str]]]) -> bool:
    for name, command in planned:
        say(f"{name}: {shlex.join(command)}")
        code = subprocess.run(command, cwd=project, check=False).returncode
        if code != 0:
            say(f"'{name}' failed (exit code {code}); the project files are all in place.")
            say(f"fix the cause, then run: cd {shlex.quote(str(project))} && {shlex.join(command)}")
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, help="import name of the generated package")
    parser.add_argument("--run-phases", default="true", help="run the design phases (true/false)")
    parser.add_argument("--auto-approve", default="false", help="approve without asking")
    parser.add_argument("--agent-backend", default="offline", help="offline or claude")
    args = parser.parse_args(argv)
    project = Path.cwd()
    run_phases, auto_approve = (
        value.lower() == "true" for value in (args.run_phases, args.auto_approve)
    )
    try:
        init_repository(project)
        planned = steps(project, args.package, run_phases, auto_approve, args.agent_backend)
        if run(project, planned):
            say("ready. Next: make test, then .venv/bin/" + args.package + " --help")
            if run_phases:
                say("the design record is in docs/adr/; see .venv/bin/ml-phases status")
    except (OSError, subprocess.SubprocessError, KeyboardInterrupt) as exc:
        say(f"stopped ({type(exc).__name__}: {exc}); the project files are all in place.")
        say("build the environment later with: python3 scripts/setup_env.py")
    return 0  # never fail: Copier would delete the project


if __name__ == "__main__":
    sys.exit(main())
