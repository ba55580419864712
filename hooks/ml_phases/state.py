"""Run state in .ml-flow/: which phases are done, the approval, and a lock against a second run.

The state file is written atomically and read through a schema. A phase is done only once a
readable ADR is on disk and no journal of a cut-off change to it is left (see journal.py): the
ADR is the last thing a phase writes, so a run cut off anywhere resumes without redoing
finished phases, and the state is reconciled with the ADRs each time it is read. The approval
is read from the gate's record itself, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import PydanticSerializationError

from . import layout
from .adr import Record, RecordError, parse, records
from .layout import atomic_write
from .phases import CANDIDATE_ROLES, PHASES, AgentFacts, Facts, Phase, gate

VERSION = 1
PhaseStatus = Literal["pending", "running", "done", "failed", "incomplete", "awaiting_approval"]
Candidate = Literal[CANDIDATE_ROLES]  # type: ignore[valid-type]
MOVE_AWAY = "move it away to start the phases afresh (the ADRs in docs/adr are kept)"
REDO = "move it away and redo the phases (`ml-phases run --redo N`)"


class StateError(RuntimeError):
    """A state file that cannot be trusted, or a project another run is working on."""


class _Strict(BaseModel):
    """A part of the state file: exact types, no unknown keys, checked on every assignment."""

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True)


class PhaseState(_Strict):
    status: PhaseStatus = "pending"
    adr: str | None = None
    seconds: float | None = None
    note: str = ""


class Approval(_Strict):
    status: Literal["pending", "approved", "rejected"] = "pending"
    option: Candidate | None = None  # the candidate approved
    reasons: list[str] = Field(default_factory=list)  # every rejection's reason, in order
    rejected: list[Candidate] = Field(default_factory=list)  # the candidates they refused


class RunState(_Strict):
    """The whole file: every key required, so a file that lost one is reported, not filled in."""

    version: Literal[1]
    phases: dict[int, PhaseState]
    approval: Approval
    capsule: str | None  # the capsule the run started with; later runs keep using it

    @classmethod
    def fresh(cls) -> RunState:
        phases = {spec.number: PhaseState() for spec in PHASES}
        return cls(version=VERSION, phases=phases, approval=Approval(), capsule=None)

    @model_validator(mode="after")
    def _twelve_phases(self) -> RunState:
        if sorted(self.phases) != [spec.number for spec in PHASES]:
            raise ValueError(
                f"it must list phases {PHASES[0].number} to {PHASES[-1].number}, each once"
            )
        return self

    def to_json(self) -> str:
        try:
            return self.model_dump_json(indent=2) + "\n"
        except PydanticSerializationError as exc:
            # Ctrl-C while pydantic-core serialises arrives wrapped; unwrap it, so the command
            # stops as on any other Ctrl-C (exit 130, "`ml-phases run` resumes").
            if "KeyboardInterrupt" in str(exc):
                raise KeyboardInterrupt from None
            raise

    @classmethod
    def from_json(cls, text: str | bytes, source: Path) -> RunState:
        return validated(cls, text, source)


def _by_whom(raw: Any) -> str:
    """Whose facts an entry of facts.json holds: the Claude agents' or the phase's own."""
    backend = raw.get("backend") if isinstance(raw, dict) else getattr(raw, "backend", None)
    return "claude" if backend == "claude" else "offline"


def _entry(spec: Phase) -> Any:
    either = Annotated[spec.facts, Tag("offline")] | Annotated[AgentFacts, Tag("claude")]
    return Annotated[either, Discriminator(_by_whom)] | None


# facts.json: what each finished phase left for later ones, by phase slug; no other key.
FactsFile = create_model(
    "FactsFile",
    __config__=ConfigDict(strict=True, extra="forbid"),
    **{spec.attribute: (_entry(spec), Field(default=None, alias=spec.slug)) for spec in PHASES},
)


def validated(schema: Any, text: str | bytes, source: Path, hint: str = MOVE_AWAY) -> Any:
    """A state file's content checked against its schema; a StateError naming the first bad
    key (as a dotted path) and what was found there otherwise."""
    adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
    try:
        return adapter.validate_json(text, strict=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = ".".join(str(part) for part in error["loc"] if part != "[key]")
        problem = error["msg"].removeprefix("Value error, ")
        if error["type"] == "json_invalid":
            problem = f"it is not valid JSON ({problem.removeprefix('Invalid JSON: ')})"
        elif error["type"] not in ("value_error", "missing"):
            problem += f" (found {_shown(error)})"
        problem = f"{key}: {problem}" if key else problem
    raise StateError(f"{source} is corrupt: {problem}; {hint}") from None


def _shown(error: dict[str, Any]) -> str:
    text = repr(error.get("input"))
    return text if len(text) <= 40 else text[:37] + "..."


def load_facts(project: Path) -> Facts:
    """What the finished phases left, checked against their dataclasses (none yet: empty)."""
    path = layout.facts_file(project)
    if not path.exists():
        return Facts()
    found = validated(FactsFile, path.read_bytes(), path, REDO)
    return Facts(**{spec.attribute: getattr(found, spec.attribute) for spec in PHASES})


def save_facts(project: Path, facts: Facts) -> None:
    found = {
        spec.slug: dataclasses.asdict(value)
        for spec in PHASES
        if (value := facts.of(spec)) is not None
    }
    atomic_write(layout.facts_file(project), json.dumps(found, indent=2, default=str) + "\n")


def read(project: Path) -> RunState:
    """The state file as written (a fresh state if there is none), checked against the schema."""
    path = layout.state_file(project)
    return RunState.from_json(path.read_bytes(), path) if path.exists() else RunState.fresh()


def load(project: Path, found: dict[int, Record | str] | None = None) -> RunState:
    """The run state, reconciled with the ADRs and the journals on disk; `found`: the records
    as `readable` parsed them, for a caller that has them already."""
    state = read(project)
    found = readable(project) if found is None else found
    on_disk = records(layout.adr_dir(project))
    cut, approval = cut_off(project), gate().number
    for number, phase_state in state.phases.items():
        record = found.get(number)
        if isinstance(record, Record) and number not in cut:
            proposed = number == approval and record.status == "proposed"
            phase_state.status = "awaiting_approval" if proposed else "done"
            phase_state.adr = str(on_disk[number].relative_to(project))
            continue
        if phase_state.status in ("done", "awaiting_approval", "running"):
            # No readable record: the phase did not finish, whatever the state file says.
            phase_state.status, phase_state.adr = "pending", None
        if isinstance(record, str):
            phase_state.note = record
        if number in cut:
            phase_state.status = "running" if held(project) else "incomplete"
            phase_state.note = "cut off; the next `ml-phases run` puts its files back first"
    decided = found.get(approval)
    accepted = isinstance(decided, Record) and decided.status == "accepted" and approval not in cut
    state.approval.status = "approved" if accepted else "pending"
    state.approval.option = decided.chosen if accepted else None  # type: ignore[union-attr]
    return state


def readable(project: Path) -> dict[int, Record | str]:
    """Each record on disk parsed, or why it cannot be read (an empty or broken file)."""
    folder = layout.adr_dir(project)
    return {n: read_record(project, path) for n, path in records(folder).items()}


def read_record(project: Path, path: Path) -> Record | str:
    """One record parsed, or why it cannot be read."""
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, RecordError) as exc:
        return f"{path.relative_to(project)} is unreadable ({exc}); run writes it again"


def cut_off(project: Path) -> set[int]:
    """Phases with a change that began and neither finished nor was put back yet."""
    return {
        int(folder.name)
        for folder in layout.snapshots(project).glob("*")
        if folder.name.isdigit()
        and (folder / layout.MANIFEST).exists()
        and not (folder / layout.FINISHED).exists()
    }


def save(project: Path, state: RunState) -> Path:
    return atomic_write(layout.state_file(project), state.to_json())


def _try_lock(handle: int) -> bool:
    """Take the OS lock on an open file without waiting; the kernel drops it when the
    process ends, however it ends."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@contextmanager
def locked(project: Path) -> Iterator[None]:
    """Hold the project's run lock; a second run while one is alive is refused.

    The lock file is never deleted, so two runs can never race over creating it.
    """
    lock = layout.lock_file(project)
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(handle):
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StateError(
                f"another ml-phases run (pid {holder}) is working on this project; wait for it"
                f" or stop it (the lock is {lock})"
            )
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)  # for the message above only
        yield
    finally:
        os.close(handle)  # closing the file releases the lock


def held(project: Path) -> bool:
    """Whether a live run holds the project's lock now."""
    lock = layout.lock_file(project)
    if not lock.exists():
        return False
    handle = os.open(lock, os.O_RDWR)
    try:
        return not _try_lock(handle)
    finally:
        os.close(handle)


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
