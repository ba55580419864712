"""Copier's post-copy task: build the new project's environment and check that it runs.

Standard library only: Copier runs it with its own interpreter, where only Copier's
dependencies exist. It runs in the new project's folder and always exits 0, because a failing
task makes Copier delete the whole new project; instead it says what happened and what to run
next. Arguments arrive as an argv list (never through a shell).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

from ml_phases.layout import ENGINE_WHEELS, report_file  # standard library only, as this is


def say(message: str) -> None:
    print(f"ml-flow: {message}", flush=True)


def venv_python(project: Path) -> Path:
    return project / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


# Copier deletes its clone of the template when the copy ends, so the engine travels into the
# project as a wheel in ENGINE_WHEELS, committed with the generated files: scripts/setup_env.py
# installs it from there, on this machine and on any clone, with no template and no build
# backend at hand.
ENGINE = Path(__file__).resolve().parent  # hooks/: the ml_phases package ships beside this file
IDENTITY = ["-c", "user.name=ml-flow-template", "-c", "user.email=ml-flow-template@localhost"]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same engine gives the same bytes


def requirement(spec: str, extra: str | None = None) -> str:
    """A Requires-Dist value, with the extra folded into any marker the requirement has."""
    if extra is None:
        return spec
    name, _, marker = spec.partition(";")
    condition = f'extra == "{extra}"'
    name = name.strip()
    return f"{name}; ({marker.strip()}) and {condition}" if marker else f"{name}; {condition}"


def text_lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def digest(data: bytes) -> str:
    """A RECORD hash: sha256, urlsafe base64 without padding (the wheel format's spelling)."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_engine_wheel(dest: Path, source: Path = ENGINE) -> Path:
    """Write the engine as a pure-Python wheel from its pyproject.toml, with the standard library.

    No build backend: hatchling is not among Copier's dependencies, and fetching it is exactly
    what fails when the package index is unreachable.
    """
    import tomllib  # Python 3.11+; main() falls back to installing from the clone without it

    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"].replace("-", "_"), project["version"]
    info = f"{name}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3')}",
        *(f"Requires-Dist: {requirement(spec)}" for spec in project.get("dependencies", [])),
    ]
    for extra, specs in project.get("optional-dependencies", {}).items():
        metadata += [f"Provides-Extra: {extra}"]
        metadata += [f"Requires-Dist: {requirement(spec, extra)}" for spec in specs]
    scripts = [f"{key} = {value}" for key, value in project.get("scripts", {}).items()]
    files = {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted((source / name).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    wheel_tags = ["Wheel-Version: 1.0", "Generator: ml-flow-template", "Root-Is-Purelib: true"]
    files[f"{info}/METADATA"] = text_lines(metadata)
    files[f"{info}/WHEEL"] = text_lines([*wheel_tags, "Tag: py3-none-any"])
    files[f"{info}/entry_points.txt"] = text_lines(["[console_scripts]", *scripts])
    record = [f"{path},{digest(data)},{len(data)}" for path, data in files.items()]
    files[f"{info}/RECORD"] = text_lines([*record, f"{info}/RECORD,,"])
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    partial = wheel.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    partial.replace(wheel)
    return wheel


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


class Step(NamedTuple):
    """One thing the task runs, and what a person types to run it later."""

    name: str
    command: list[str]
    later: str = ""  # when it differs from the command


def steps(
    project: Path,
    package: str,
    run_phases: bool,
    auto_approve: bool,
    backend: str = "offline",
    wheel: Path | None = None,
) -> list[Step]:
    """What the task runs, in order.

    scripts/setup_env.py installs the engine from its wheel in the project; without one (no
    tomllib before Python 3.11) the engine comes from this clone of the template, which is
    gone once Copier ends. With the claude backend the engine comes with its SDK; without an
    API key in the environment the phases wait (the engine would stop at once asking for one).
    """
    python = str(venv_python(project))
    build = [sys.executable, "scripts/setup_env.py"]
    if wheel is None:
        build += ["--also", f"{ENGINE}[claude]" if backend == "claude" else str(ENGINE)]
    planned = [
        Step("build .venv", build, "make install" if wheel else ""),
        Step("profile the data", [python, "-m", package, "profile"]),
    ]
    keyed = any(os.environ.get(name) for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"))
    if run_phases and backend == "claude" and not keyed:
        say("agent_backend is claude and ANTHROPIC_API_KEY is not set: the phases did not run.")
        say("set it, then run: .venv/bin/ml-phases run (or --backend offline)")
    elif run_phases:
        phases = [python, "-m", "ml_phases"]
        planned.append(Step("run the design phases", [*phases, "run"]))
        if auto_approve:
            planned += [
                Step("approve the design", [*phases, "approve"]),
                Step("run the remaining phases", [*phases, "run"]),
            ]
    return planned


def run(project: Path, planned: list[Step]) -> bool:
    for index, step in enumerate(planned):
        say(f"{step.name}: {shlex.join(step.command)}")
        code = subprocess.run(step.command, cwd=project, check=False).returncode
        if code != 0:
            say(f"'{step.name}' failed (exit code {code}); the project files are all in place.")
            todo = [later.later or shlex.join(later.command) for later in planned[index:]]
            say(f"fix the cause, then run: cd {shlex.quote(str(project))} && {todo[0]}")
            for command in todo[1:]:
                say(f"  then: {command}")
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, help="import name of the generated package")
    parser.add_argument("--run-phases", default="true", help="run the design phases (true/false)")
    parser.add_argument("--auto-approve", default="false", help="approve without asking")
    parser.add_argument("--agent-backend", default="offline", help="offline or claude")
    parser.add_argument("--setup-env", default="true", help="build .venv now (true/false)")
    parser.add_argument("--data-source", default="sample:", help="the data_source answer")
    args = parser.parse_args(argv)
    project = Path.cwd()
    run_phases, auto_approve, setup_env = (
        value.lower() == "true" for value in (args.run_phases, args.auto_approve, args.setup_env)
    )
    try:
        try:
            wheel: Path | None = write_engine_wheel(project / ENGINE_WHEELS)
        except ImportError:
            say("no tomllib (Python < 3.11): the engine is installed from the template this once")
            wheel = None
        init_repository(project)
        if not setup_env:
            return 0  # _message_after_copy says what to run
        source = args.data_source
        data_ready = source.startswith("sample:") or (project / source).is_file()
        if not data_ready:
            say(f"{source} is not in the project yet: profiling and the phases wait for it")
        planned = steps(project, args.package, run_phases, auto_approve, args.agent_backend, wheel)
        planned = planned if data_ready else planned[:1]  # the environment needs no data
        if run(project, planned):
            say("ready. Next: make test, then .venv/bin/" + args.package + " --help")
            if run_phases and data_ready:
                say("the design record is in docs/adr/; see .venv/bin/ml-phases status")
                if report_file(project).is_file():
                    say(f"the record with its figures: {report_file(project).as_uri()}")
    except (OSError, subprocess.SubprocessError, KeyboardInterrupt) as exc:
        say(f"stopped ({type(exc).__name__}: {exc}); the project files are all in place.")
        say("build the environment later with: python3 scripts/setup_env.py")
    return 0  # never fail: Copier would delete the project


if __name__ == "__main__":
    sys.exit(main())
