"""The generated project as the engine sees it: its answers, its catalogue and its tools.

Agents work through the project's own CLI (`<pkg> profile | risks | bakeoff | train | …
--json`), run with the project's interpreter, as argv lists (never through a shell).
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from .layout import catalogue_file

ANSWERS_FILE = ".copier-answers.yml"
# Every command the engine starts carries this variable (the project's path), and so does
# everything those commands start: a run finds what a killed run left by it (end_leftovers).
MARK = "ML_PHASES_PROJECT"
PR_SET_PDEATHSIG = 1  # Linux prctl: a signal the kernel sends a process when its parent dies


class ToolError(RuntimeError):
    """A project command that failed; the message holds its last line of output."""


@dataclass(frozen=True)
class TestRun:
    """What a pytest run of the project found (read from its JUnit XML report)."""

    __test__ = False  # a result, not a test class for pytest to collect

    targets: tuple[str, ...]  # test files run; empty means the whole suite
    passed: int
    failed: int
    skipped: int
    seconds: float
    failures: tuple[str, ...] = field(default=())  # `test id: first line of the reason`

    @property
    def green(self) -> bool:
        return self.failed == 0 and self.passed > 0

    def describe(self) -> str:
        scope = ", ".join(self.targets) or "the whole suite"
        outcome = f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        return f"{scope}: {outcome} in {self.seconds:.1f} s"


def read_junit(path: Path, targets: tuple[str, ...]) -> TestRun:
    """Counts and failures from a JUnit XML report."""
    cases = ET.parse(path).getroot().iter("testcase")
    passed = failed = skipped = 0
    seconds, failures = 0.0, []
    for case in cases:
        seconds += float(case.get("time") or 0)
        problem = case.find("failure")
        problem = problem if problem is not None else case.find("error")
        if problem is not None:
            failed += 1
            reason = (problem.get("message") or "").strip().splitlines()
            failures.append(
                f"{case.get('classname')}::{case.get('name')}: {reason[0] if reason else ''}"
            )
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return TestRun(targets, passed, failed, skipped, round(seconds, 2), tuple(failures))


def _kill(process: subprocess.Popen[str]) -> None:
    """End a command and every process it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)  # POSIX; elsewhere only the command itself
    except (AttributeError, ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()


def _dies_with(parent: int) -> Callable[[], None] | None:
    """What a child runs before its command (Linux): be killed when `parent` dies, however
    it dies; a parent already gone by then means exit at once."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def leftovers(root: Path) -> list[int]:
    """Processes that commands of the engine started in this project and that still run
    (Linux; found by MARK in their environment). Called under the run lock, where no live
    run of this project has any: they belong to a run that was killed. This process and its
    ancestors are never among them."""
    mark = f"\0{MARK}={root.resolve()}\0".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if mark in b"\0" + (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return sorted(set(found) - _ancestors())


def _ancestors() -> set[int]:
    """This process and its parents, up to init."""
    chain, pid = set(), os.getpid()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return chain


def end_leftovers(root: Path) -> list[int]:
    """Kill what a killed run's commands left running; returns their pids."""
    ended = []
    for pid in leftovers(root):
        try:
            os.kill(pid, signal.SIGKILL)
            ended.append(pid)
        except (ProcessLookupError, PermissionError):
            continue
    return ended


# What the engine reads from a catalogue, and the type each must have.
CATALOGUE_NAMES = {"TASKS": tuple, "METRICS": dict, "MODELS": dict}


def load_catalogue(path: Path) -> ModuleType:
    """A project's catalogue.py (TASKS, METRICS, MODELS, SAMPLES), run from its file: it imports
    nothing, so neither the project's environment nor its package is needed to read it. A
    catalogue that is missing, does not run, or lacks a name is a one-line ToolError."""
    # The loader named, not guessed from the suffix: the template's own sources end in a Jinja
    # tag (`catalogue.py{% endif %}`), and the engine's tests read them too.
    spec = importlib.util.spec_from_loader("catalogue", SourceFileLoader("catalogue", str(path)))
    if spec is None or spec.loader is None or not path.is_file():
        raise ToolError(f"{path} is missing: it names the tasks, metrics and models to design with")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a user's edit may break it in any way; say how, in one line
        raise ToolError(f"{path} cannot be read ({type(exc).__name__}: {exc}); fix it") from None
    for name, kind in CATALOGUE_NAMES.items():
        if not isinstance(getattr(module, name, None), kind):
            raise ToolError(f"{path} must define {name} as a {kind.__name__}; fix it")
    return module


@dataclass(frozen=True)
class Project:
    root: Path
    answers: dict[str, Any]

    @classmethod
    def open(cls, root: Path) -> Project:
        path = root / ANSWERS_FILE
        if not path.is_file():
            raise ToolError(f"{root} is not a generated project (no {ANSWERS_FILE})")
        try:
            answers = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            problem = str(exc).splitlines()[0]
            raise ToolError(f"{path} is not readable YAML ({problem}); restore it") from None
        if not isinstance(answers, dict):
            raise ToolError(f"{path} must map each question to its answer; restore it")
        return cls(root.resolve(), answers)

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])

    @cached_property
    def catalogue(self) -> ModuleType:
        """What the project offers, from its own catalogue.py: the one list of its tasks,
        metrics (with the task each scores) and models (with the part each plays)."""
        return load_catalogue(catalogue_file(self.root, self.package))

    @property
    def python(self) -> str:
        """The project's interpreter: .venv's, else the one running the engine."""
        venv = self.root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        return str(venv) if venv.exists() else sys.executable

    def run(
        self, *args: str, timeout: float | None = None, env: dict[str, str | None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of the project's interpreter in the project folder.

        No time limit unless given (a full training run takes what it takes); `env` sets
        variables for this command only, None removing one.
        """
        environment = dict(os.environ) | {MARK: str(self.root)}
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        # Its own process group: a timeout or Ctrl-C ends the whole tree it started; and it
        # dies with the engine, so a killed run leaves no command behind writing files.
        process = subprocess.Popen(
            [self.python, *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            start_new_session=True,
            preexec_fn=_dies_with(os.getpid()),
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise ToolError(f"`{' '.join(args[:3])}` did not finish in {timeout:.0f} s") from None
        except BaseException:
            _kill(process)
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def config(self, name: str = "configs/default.yaml") -> dict[str, Any]:
        """A config file of the project as a plain mapping (as written, not validated)."""
        return yaml.safe_load((self.root / name).read_text(encoding="utf-8")) or {}

    def tests(self, targets: tuple[str, ...] = (), timeout: float | None = None) -> TestRun:
        """Run the project's pytest on some test files (or all) and read the outcome."""
        with tempfile.TemporaryDirectory() as scratch:
            report = Path(scratch) / "junit.xml"
            result = self.run(
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                *targets,
                timeout=timeout,
            )
            if not report.is_file():  # pytest could not even collect: say why
                lines = (result.stdout + result.stderr).strip().splitlines()
                raise ToolError(f"pytest did not run: {lines[-1] if lines else result.returncode}")
            return read_junit(report, targets)

    def cli(
        self,
        command: str,
        *overrides: str,
        config: str = "configs/default.yaml",
        env: dict[str, str | None] | None = None,
        verdicts: tuple[int, ...] = (),
    ) -> Any:
        """`<pkg> <command> --json` parsed; a failure is a ToolError with the tool's message.
        `verdicts` are exit codes that answer rather than fail (`monitor` exits 13 on drift)."""
        args = ("-m", self.package, command, "--config", config, *overrides, "--json")
        return self.parsed(f"{self.package} {command}", self.run(*args, env=env), verdicts)

    def script(self, path: str, *args: str, timeout: float | None = None) -> Any:
        """`python <path> ARGS --json` parsed (a benchmark of the project's); a failure is a
        ToolError with the script's message."""
        return self.parsed(path, self.run(path, *args, "--json", timeout=timeout))

    @staticmethod
    def parsed(
        name: str, result: subprocess.CompletedProcess[str], verdicts: tuple[int, ...] = ()
    ) -> Any:
        """A command's JSON output, or a ToolError with its last line of error."""
        if result.returncode != 0 and result.returncode not in verdicts:
            lines = (result.stderr or result.stdout).strip().splitlines()
            reason = lines[-1] if lines else f"exit code {result.returncode}"
            raise ToolError(f"`{name}` failed: {reason}")
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise ToolError(f"`{name}` printed no JSON: {result.stdout[-200:]!r}") from None
