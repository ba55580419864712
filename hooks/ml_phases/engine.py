"""Running the phases: in order, resumable, one ADR each, stopping at the design gate.

A phase writes its facts, then its ADR (last), then marks itself done; a run cut off anywhere
resumes at the first phase without an ADR. The gate (phase 6) writes a *proposed* ADR and stops
the run until `approve` (optionally another candidate) or `reject --reason` (phases 4-5 again,
with the reason as input).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import adr
from . import state as run_state
from .backends.base import CANDIDATES, Context, PhaseIncomplete, Report
from .backends.claude import Settings as ClaudeSettings
from .backends.offline import PHASE_FUNCTIONS
from .capsule import load_capsule
from .changes import PhaseFailed, Snapshot, Workspace, commit
from .phases import PHASES, phase
from .project import Project

GATE = 6
REDONE_ON_REJECT = (4, 5, 6)
BACKENDS = ("offline", "claude")
Decide = Callable[[int, Context], Report]  # a backend: fills in one phase
# How a phase that stopped early ends the run: its status, what happened, what to do next.
STOPPED = {
    PhaseFailed: ("failed", "failed", "fix the cause, then `ml-phases run` resumes at this phase."),
    PhaseIncomplete: (
        "incomplete",
        "stopped before it finished",
        "`ml-phases run` resumes at this phase (--budget-usd, --max-turns and --phase-minutes"
        " raise the limits).",
    ),
}


class EngineError(RuntimeError):
    """A request the engine cannot carry out; the message says why and what to do."""


def facts_path(root: Path) -> Path:
    return root / run_state.STATE_DIR / "facts.json"


def load_facts(root: Path) -> dict[int, dict[str, Any]]:
    path = facts_path(root)
    if not path.exists():
        return {}
    try:
        return {int(k): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (json.JSONDecodeError, ValueError, AttributeError) as exc:
        raise run_state.StateError(f"{path} is corrupt ({exc}); move it away and redo") from None


def save_facts(root: Path, facts: dict[int, dict[str, Any]]) -> None:
    adr.atomic_write(facts_path(root), json.dumps(facts, indent=2, default=str) + "\n")


def fingerprint(answers: dict[str, Any], inputs: list[Path]) -> str:
    """What a phase saw: the answers and the ADRs it read."""
    digest = hashlib.sha256(json.dumps(answers, sort_keys=True, default=str).encode())
    for path in inputs:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def to_record(
    number: int, report: Report, backend: str, answers: dict, inputs: list[Path], seconds: float
) -> adr.Record:
    spec = phase(number)
    roles = [agent.role for agent in spec.agents] or ["user"]
    content = {item.name: getattr(report, item.name) for item in dataclasses.fields(adr.Decision)}
    return adr.Record(
        **content,
        number=number,
        date=dt.date.today().isoformat(),
        decision_makers=roles,
        flow={
            "phase": number,
            "name": spec.name,
            "meta-phase": spec.meta,
            "agents": roles,
            "backend": backend,
            "model": report.model,
            "tokens": dict(report.tokens),
            "cost_usd": report.cost_usd,
            "seconds": round(seconds, 2),
            "input_fingerprint": fingerprint(answers, inputs),
        },
    )


def _gate_record(root: Path) -> adr.Record | None:
    path = adr.records(root / run_state.ADR_DIR).get(GATE)
    return adr.parse(path.read_text(encoding="utf-8")) if path else None


def _decide(
    root: Path,
    project: Project,
    number: int,
    state: run_state.RunState,
    facts: dict,
    answers: dict,
    capsule: str | None,
    backend: str,
    decide: Decide,
) -> tuple[Path, float, str]:
    """Run one phase's agents, keep their facts, then write its ADR (last: that is 'done').

    The files the phase owns are snapshotted first: if the phase fails or is cut off, they are
    put back, so a failed code phase leaves no change behind. A finished phase is one commit.
    """
    started = time.perf_counter()
    spec = phase(number)
    required = [n for n in range(1, number) if n not in facts]  # every later phase reads them
    if required:
        missing = ", ".join(map(str, required))
        raise EngineError(
            f"phase {number} needs what phases {missing} measured, and {facts_path(root)} does"
            f" not have it; run them again with `ml-phases run --redo N` for each"
        )
    by_claude = [n for n in range(1, number) if facts[n].get("backend") == "claude"]
    if backend == "offline" and by_claude:
        raise EngineError(
            f"phase {number} offline needs what the offline analysts measured, but the Claude"
            f" agents did phase {by_claude[0]}; go on with --backend claude, or redo from phase"
            f" {by_claude[0]} offline (`ml-phases run --redo N` for each)"
        )
    owned = list(spec.owned_files(project.package))
    snapshot = Snapshot.take(root, owned)
    snapshot.save(snapshot_dir(root, number))
    ctx = Context(
        project,
        answers,
        facts,
        capsule,
        list(state.approval.reasons),
        set(state.approval.rejected),
        approved=state.approval.option,
        workspace=Workspace(project, snapshot) if spec.writes_code else None,
    )
    try:
        report = decide(number, ctx)
        if ctx.workspace is not None and not ctx.workspace.verified:
            ctx.workspace.verify()  # a backend that did not check its change gets checked here
        facts[number] = report.facts
        save_facts(root, facts)
        folder = root / run_state.ADR_DIR
        inputs = [path for n, path in adr.records(folder).items() if n in spec.inputs]
        seconds = time.perf_counter() - started
        record = to_record(number, report, backend, answers, inputs, seconds)
        changed = snapshot.changed()
        path = adr.write(record, folder)  # the phase is done from here on
    except BaseException:
        snapshot.restore()
        raise
    finally:
        shutil.rmtree(snapshot_dir(root, number), ignore_errors=True)
    index = folder / "README.md"
    paths = [*changed, *(str(p.relative_to(root)) for p in (path, index))]
    return path, seconds, commit(root, paths, f"Phase {number} of 12: {spec.name}")


def backend_name(given: str | None, answers: dict) -> str:
    """The backend asked for, else the project's `agent_backend` answer, else offline."""
    return given or str(answers.get("agent_backend") or "offline")


def _backend(
    name: str, claude: ClaudeSettings | None, answers: dict, say: Callable[[str], None]
) -> Decide:
    """The function that fills in a phase, for the backend named."""
    if name == "offline":
        return lambda number, ctx: PHASE_FUNCTIONS[number](ctx)
    if name != "claude":
        raise EngineError(f"backend '{name}' is not one of {', '.join(BACKENDS)}")
    from .backends.claude.backend import ClaudeBackend  # needs the anthropic SDK

    return ClaudeBackend(claude or ClaudeSettings.from_answers(answers), say)


def snapshot_dir(root: Path, number: int) -> Path:
    return root / run_state.STATE_DIR / "snapshots" / str(number)


def put_back_cut_off_phases(root: Path, say: Callable[[str], None]) -> None:
    """Undo what a killed run's unfinished phase wrote; forget snapshots of finished ones."""
    done = adr.records(root / run_state.ADR_DIR)
    for folder in sorted((root / run_state.STATE_DIR / "snapshots").glob("*")):
        left = Snapshot.load(root, folder)
        if left is not None and int(folder.name) not in done:
            restored = left.restore()
            if restored:
                say(f"Phase {folder.name} was cut off; put back: {', '.join(restored)}")
        shutil.rmtree(folder, ignore_errors=True)


def run(
    root: Path,
    *,
    start: int = 1,
    stop: int = 12,
    redo: int | None = None,
    backend: str | None = None,
    capsule: str | None = None,
    claude: ClaudeSettings | None = None,
    say: Callable[[str], None] = print,
) -> str:
    """Run phases start..stop; returns how the run ended: 'gate', 'done', 'failed' or
    'incomplete' (a limit stopped a phase; the next run resumes it).

    The backend defaults to the project's `agent_backend` answer; Claude's settings to its
    `claude_model` and `budget_usd` answers.
    """
    if not 1 <= start <= stop <= len(PHASES):
        raise EngineError(f"--from {start} --to {stop} is not a range within 1-{len(PHASES)}")
    project = Project.open(root)
    answers = dict(project.answers)
    backend = backend_name(backend, answers)
    decide = _backend(backend, claude, answers, say)
    with run_state.locked(root):
        put_back_cut_off_phases(root, say)
        state = run_state.load(root)
        facts = load_facts(root)
        capsule = capsule or state.capsule
        if capsule:
            answers |= load_capsule(root, capsule)
            say(f"Loaded capsule: {capsule}")
            state.capsule = capsule
        if redo is not None:
            state.phases[phase(redo).number].status = "pending"
        for spec in PHASES[start - 1 : stop]:
            number, current = spec.number, state.phases[spec.number]
            if number == GATE:
                ended = _gate(root, project, state, facts, answers, capsule, backend, decide, say)
                if ended:
                    return ended
                continue
            if current.status == "done":
                continue
            say(spec.announce())
            current.status, current.note = "running", ""
            run_state.save(root, state)
            try:
                path, seconds, committed = _decide(
                    root, project, number, state, facts, answers, capsule, backend, decide
                )
            except (PhaseFailed, PhaseIncomplete) as exc:
                ended, what, hint = STOPPED[type(exc)]
                current.status, current.note = ended, str(exc)
                run_state.save(root, state)
                say(f"Phase {number} {what}: {exc}. Its changes were undone.\nNext: {hint}")
                return ended
            current.status, current.adr, current.seconds = (
                "done",
                str(path.relative_to(root)),
                (round(seconds, 2)),
            )
            run_state.save(root, state)
            say(f"  ADR: {current.adr} ({seconds:.1f} s; {committed})")
        return "done"


def _gate(
    root: Path,
    project: Project,
    state: run_state.RunState,
    facts: dict,
    answers: dict,
    capsule: str | None,
    backend: str,
    decide: Decide,
    say: Callable[[str], None],
) -> str | None:
    """Write the proposed design and stop, or let an approved design through."""
    spec, current = phase(GATE), state.phases[GATE]
    record = _gate_record(root)
    if state.approval.status == "approved" and record and record.status == "accepted":
        current.status = "done"
        return None
    if record is None or record.status != "proposed":
        say(spec.announce())
        _decide(root, project, GATE, state, facts, answers, capsule, backend, decide)
    current.status = "awaiting_approval"
    current.adr = str(adr.records(root / run_state.ADR_DIR)[GATE].relative_to(root))
    run_state.save(root, state)
    options = ", ".join(CANDIDATES)
    say(
        f"Design approval needed: the proposed design is in {current.adr}.\n"
        "Next: ml-phases approve            (the recommended candidate)\n"
        f"      ml-phases approve --option X (X one of {options})\n"
        '      ml-phases reject --reason "…" (phases 4-5 again, with your reason)'
    )
    return "gate"


def _proposed(root: Path) -> adr.Record:
    record = _gate_record(root)
    if record is None or record.status != "proposed":
        raise EngineError("there is no design awaiting approval; run `ml-phases run` first")
    return record


def approve(root: Path, option: str | None = None) -> str:
    """Accept the proposed design, or the same design with another candidate."""
    with run_state.locked(root):
        state = run_state.load(root)
        record = _proposed(root)
        chosen = option or record.chosen
        if chosen not in CANDIDATES:
            raise EngineError(f"option '{chosen}' is not one of {', '.join(CANDIDATES)}")
        because = (
            "the user approved the recommended design."
            if chosen == record.chosen
            else f"the user approved it in place of the recommended {record.chosen}."
        )
        accepted = dataclasses.replace(
            record,
            status="accepted",
            chosen=chosen,
            because=because,
            confirmation="Approved with `ml-phases approve`.",
        )
        adr.write(accepted, root / run_state.ADR_DIR)
        state.approval = dataclasses.replace(state.approval, status="approved", option=chosen)
        state.phases[GATE].status = "done"
        run_state.save(root, state)
        commit(root, [str(run_state.ADR_DIR)], f"Phase {GATE} of 12: design approved ({chosen})")
    return chosen


def reject(root: Path, reason: str) -> str:
    """Refuse the proposed design: phases 4-5 run again with the reason, then the gate."""
    if not reason.strip():
        raise EngineError('a rejection needs a reason: ml-phases reject --reason "…"')
    with run_state.locked(root):
        state = run_state.load(root)
        record = _proposed(root)
        history = root / run_state.STATE_DIR / "history"
        for number in REDONE_ON_REJECT:  # keep the refused records, then redo them
            path = adr.records(root / run_state.ADR_DIR).get(number)
            if path:
                stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                adr.atomic_write(history / f"{stamp}-{path.name}", path.read_text())
                path.unlink()
            state.phases[number] = run_state.PhaseState()
        adr.write_index(root / run_state.ADR_DIR)
        state.approval.status = "pending"
        state.approval.reasons.append(reason.strip())
        state.approval.rejected.append(record.chosen)
        run_state.save(root, state)
        commit(root, [str(run_state.ADR_DIR)], f"Design rejected ({record.chosen}): {reason}")
    return record.chosen
