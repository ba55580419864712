"""Run state in .ml-flow/: which phases are done, the approval, and a lock against a second run.

The state file is written atomically. A phase is done only once its ADR is on disk: the ADR is
the last thing a phase writes, so a run cut off anywhere resumes without redoing finished
phases, and the state is reconciled with the ADRs each time it is read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .adr import atomic_write, records
from .phases import PHASES

STATE_DIR = ".ml-flow"
ADR_DIR = Path("docs/adr")
PHASE_STATUSES = ("pending", "running", "done", "failed", "incomplete", "awaiting_approval")
VERSION = 1


class StateError(RuntimeError):
    """A state file that cannot be trusted, or a project another run is working on."""


@dataclass
class PhaseState:
    status: str = "pending"
    adr: str | None = None
    seconds: float | None = None
    note: str = ""


@dataclass
class Approval:
    status: str = "pending"  # pending | approved | rejected
    option: str | None = None  # the candidate approved (baseline | sota | pragmatic)
    reasons: list[str] = field(default_factory=list)  # every rejection's reason, in order
    rejected: list[str] = field(default_factory=list)  # the candidates those rejections refused


@dataclass
class RunState:
    version: int = VERSION
    phases: dict[int, PhaseState] = field(
        default_factory=lambda: {spec.number: PhaseState() for spec in PHASES}
    )
    approval: Approval = field(default_factory=Approval)
    capsule: str | None = None  # the capsule the run started with; later runs keep using it

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: Path) -> RunState:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(
                f"{source} is corrupt (not JSON: {exc.msg} at line {exc.lineno}); move it away"
                " to start the phases afresh (the ADRs in docs/adr are kept)"
            ) from None
        try:
            if raw["version"] != VERSION:
                raise StateError(
                    f"{source} has version {raw['version']}; this engine reads {VERSION}"
                )
            phases = {int(number): PhaseState(**value) for number, value in raw["phases"].items()}
            approval = Approval(**raw["approval"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(
                f"{source} is corrupt ({type(exc).__name__}: {exc}); move it away to start the"
                " phases afresh (the ADRs in docs/adr are kept)"
            ) from None
        if sorted(phases) != [spec.number for spec in PHASES]:
            raise StateError(f"{source} is corrupt (it does not list phases 1 to {len(PHASES)})")
        bad = [f"{n}: {p.status!r}" for n, p in phases.items() if p.status not in PHASE_STATUSES]
        if bad:
            raise StateError(f"{source} is corrupt (unknown phase status {', '.join(bad)})")
        return cls(VERSION, phases, approval, raw.get("capsule"))


def state_path(project: Path) -> Path:
    return project / STATE_DIR / "state.json"


def load(project: Path) -> RunState:
    """The run state, reconciled with the ADRs on disk; a fresh one if there is none yet."""
    path = state_path(project)
    state = (
        RunState.from_json(path.read_text(encoding="utf-8"), path) if path.exists() else RunState()
    )
    on_disk = records(project / ADR_DIR)
    gates = {spec.number for spec in PHASES if spec.gate}
    for number, phase_state in state.phases.items():
        if number in on_disk:
            proposed = number in gates and _status(on_disk[number]) == "proposed"
            phase_state.status = "awaiting_approval" if proposed else "done"
            phase_state.adr = str(on_disk[number].relative_to(project))
        elif phase_state.status in ("done", "awaiting_approval", "running"):
            # No ADR: the phase did not finish, whatever the state file says.
            phase_state.status, phase_state.adr = "pending", None
    return state


def _status(path: Path) -> str:
    """A record's status, read from its front matter alone."""
    match = re.search(r"^status: *['\"]?(\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1) if match else ""


def save(project: Path, state: RunState) -> Path:
    return atomic_write(state_path(project), state.to_json())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def locked(project: Path) -> Iterator[None]:
    """Hold the project's run lock; a second run while one is alive is refused."""
    lock = project / STATE_DIR / "run.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                raise StateError(
                    f"another ml-phases run (pid {pid}) is working on this project; wait for it"
                    f" or stop it (the lock is {lock})"
                ) from None
            lock.unlink(missing_ok=True)  # left by a run that was killed
            continue
        with os.fdopen(handle, "w") as file:
            file.write(str(os.getpid()))
        break
    else:
        raise StateError(f"could not take the run lock {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def summary(state: RunState) -> list[dict[str, Any]]:
    """One row per phase, for `ml-phases status`."""
    return [
        {
            "phase": spec.number,
            "name": spec.name,
            "meta": spec.meta,
            "status": state.phases[spec.number].status,
            "adr": state.phases[spec.number].adr,
        }
        for spec in PHASES
    ]
