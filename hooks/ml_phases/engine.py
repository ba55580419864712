"""Running the phases: in order, resumable, one ADR and one commit each, stopping at the gate.

A phase writes its facts, then its ADR (last), then is committed. Every change to the project
(a phase, an approval, a rejection) is one journaled change (journal.py): committed whole or put
back whole, even when the process is killed, so a phase that counts as done is always committed
and a redo cut off mid-way leaves the old phase as it was. The gate writes a *proposed* ADR and
stops the run until `approve` (optionally another candidate) or `reject --reason` (the design
phases before the gate again, with the reason as input).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import adr, layout, report
from . import state as run_state
from .backends.base import Backend, Context, PhaseIncomplete, Report
from .backends.claude.settings import Flags, Settings
from .backends.offline.backend import OfflineBackend
from .capsule import load_capsule
from .changes import PhaseFailed, Workspace
from .journal import Journal, recover, relative
from .phases import (
    CANDIDATE_ROLES,
    PHASES,
    AgentFacts,
    Facts,
    Phase,
    gate,
    phase,
    redone_on_reject,
    span,
)
from .project import Project

BACKENDS = ("offline", "claude")
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


def fingerprint(answers: dict[str, Any], inputs: list[Path]) -> str:
    """What a phase saw: the answers and the ADRs it read."""
    digest = hashlib.sha256(json.dumps(answers, sort_keys=True, default=str).encode())
    for path in inputs:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _gate_record(root: Path) -> adr.Record | None:
    path = adr.records(layout.adr_dir(root)).get(gate().number)
    record = run_state.read_record(root, path) if path else None
    return record if isinstance(record, adr.Record) else None


def backend_for(
    name: str | None, answers: dict[str, Any], claude: Flags, say: Callable[[str], None]
) -> Backend:
    """The backend named, else the project's `agent_backend` answer, else offline; Claude's
    settings are resolved here, once, from the flags, then the answers, then the defaults."""
    name = name or str(answers.get("agent_backend") or "offline")
    if name == "offline":
        return OfflineBackend()
    if name != "claude":
        raise EngineError(f"backend '{name}' is not one of {', '.join(BACKENDS)}")
    from .backends.claude.backend import ClaudeBackend  # needs the anthropic SDK

    return ClaudeBackend(Settings.resolve(answers, claude), say)


@dataclasses.dataclass
class PhaseRun:
    """One `ml-phases run` under the lock: the project, its state and facts, the answers (a
    capsule applied), and the backend that fills the phases in."""

    root: Path
    project: Project
    state: run_state.RunState
    facts: Facts
    answers: dict[str, Any]
    capsule: str | None
    backend: Backend
    say: Callable[[str], None]

    def phase(self, spec: Phase) -> str | None:
        """Run a phase that is not done; 'failed' or 'incomplete' when it stopped the run."""
        current = self.state.phases[spec.number]
        if current.status == "done":
            return None
        self.say(spec.announce())
        current.status, current.note = "running", ""
        run_state.save(self.root, self.state)
        try:
            path, seconds, committed = self._fill(spec)
        except (PhaseFailed, PhaseIncomplete) as exc:
            ended, what, hint = STOPPED[type(exc)]
            current.status, current.note = ended, str(exc)
            self._settle()
            self.say(f"Phase {spec.number} {what}: {exc}. Its changes were put back.\nNext: {hint}")
            return ended
        current.status, current.adr = "done", str(path.relative_to(self.root))
        current.seconds = round(seconds, 2)
        self._settle()
        self.say(f"  ADR: {current.adr} ({seconds:.1f} s; {committed})")
        return None

    def gate(self) -> str | None:
        """Write the proposed design and stop ('gate'), or let an approved design through."""
        spec = gate()
        current, record = self.state.phases[spec.number], _gate_record(self.root)
        if self.state.approval.status == "approved" and record and record.status == "accepted":
            current.status = "done"
            return None
        if record is None or record.status != "proposed":
            self.say(spec.announce())
            self._fill(spec)
        current.status = "awaiting_approval"
        current.adr = relative(self.root, adr.records(layout.adr_dir(self.root))[spec.number])
        self._settle()
        redone = span(redone_on_reject())
        self.say(
            f"Design approval needed: the proposed design is in {current.adr}.\n"
            "Next: ml-phases approve            (the recommended candidate)\n"
            f"      ml-phases approve --option X (X one of {', '.join(CANDIDATE_ROLES)})\n"
            f'      ml-phases reject --reason "…" (phases {redone} again, with your reason)'
        )
        return "gate"

    def _settle(self) -> None:
        """Save where a phase ended up, and show it on the page."""
        run_state.save(self.root, self.state)
        report.refresh(self.root, self.say)

    def _fill(self, spec: Phase) -> tuple[Path, float, str]:
        """Have the backend fill a phase in, keep its facts, then write its ADR (last: that
        is 'done'); returns the ADR, the seconds taken and what the commit did.

        The phase is one journaled change (its owned files, its record, the index, the facts): if
        it fails or is cut off, they are put back, so a failed code phase leaves no change behind,
        and a redo cut off mid-way leaves the old phase. A finished phase is one commit.
        """
        started = time.perf_counter()
        self._check_facts(spec)
        root, folder = self.root, layout.adr_dir(self.root)
        own = [relative(root, path) for n, path in adr.records(folder).items() if n == spec.number]
        tracked = [
            *spec.owned_files(self.project.package),
            *own,
            relative(root, folder / adr.INDEX),
        ]
        touched = [*tracked, relative(root, layout.facts_file(root))]
        message = f"{spec.label}: {spec.name}"
        with Journal(root, str(spec.number), touched, list(tracked), message, self.say) as journal:
            ctx = Context(
                self.project,
                self.answers,
                self.facts,
                self.capsule,
                list(self.state.approval.reasons),
                set(self.state.approval.rejected),
                approved=self.state.approval.option,
                workspace=Workspace(self.project, journal.snapshot) if spec.writes_code else None,
            )
            report = self.backend.fill(spec, ctx)
            if ctx.workspace is not None and not ctx.workspace.verified:
                ctx.workspace.verify()  # a backend that did not check its change is checked here
            self.facts.keep(spec, report.facts)
            run_state.save_facts(root, self.facts)
            inputs = [path for n, path in adr.records(folder).items() if n in spec.inputs]
            seconds = time.perf_counter() - started
            record = self._record(spec, report, inputs, seconds)
            journal.include(folder / adr.filename(record))
            path = adr.write(record, folder)  # the phase is done from here on
        return path, seconds, journal.outcome

    def _check_facts(self, spec: Phase) -> None:
        """Refuse a phase whose inputs are missing, or that the backend cannot build on."""
        earlier = PHASES[: PHASES.index(spec)]
        missing = [s.number for s in earlier if self.facts.of(s) is None]  # later phases read them
        if missing:
            raise EngineError(
                f"phase {spec.number} needs what phases {', '.join(map(str, missing))} measured,"
                f" and {layout.facts_file(self.root)} does not have it; run them again with"
                " `ml-phases run --redo N` for each"
            )
        by_agents = [s.number for s in earlier if isinstance(self.facts.of(s), AgentFacts)]
        if self.backend.name == "offline" and by_agents:
            raise EngineError(
                f"phase {spec.number} offline needs what the offline analysts measured, but the"
                f" Claude agents did phase {by_agents[0]}; go on with --backend claude, or redo"
                f" from phase {by_agents[0]} offline (`ml-phases run --redo N` for each)"
            )

    def _record(
        self, spec: Phase, report: Report, inputs: list[Path], seconds: float
    ) -> adr.Record:
        """The phase's ADR: the report's decision with its number, date, makers and ml-flow
        block."""
        roles = [agent.role for agent in spec.agents] or ["user"]
        decided = {
            item.name: getattr(report, item.name) for item in dataclasses.fields(adr.Decision)
        }
        return adr.Record(
            **decided,
            number=spec.number,
            date=dt.date.today().isoformat(),
            decision_makers=roles,
            flow={
                "phase": spec.number,
                "name": spec.name,
                "meta-phase": spec.meta,
                "agents": roles,
                "backend": self.backend.name,
                "model": report.model,
                "tokens": dict(report.tokens),
                "cost_usd": report.cost_usd,
                "seconds": round(seconds, 2),
                "input_fingerprint": fingerprint(self.answers, inputs),
            },
        )


def run(
    root: Path,
    *,
    start: int = 1,
    stop: int = len(PHASES),
    redo: int | None = None,
    backend: str | None = None,
    capsule: str | None = None,
    claude: Flags | None = None,
    say: Callable[[str], None] = print,
) -> str:
    """Run phases start..stop; returns how the run ended: 'gate', 'done', 'failed' or
    'incomplete' (a limit stopped a phase; the next run resumes it).

    The backend defaults to the project's `agent_backend` answer; Claude's settings not given
    as flags to its `claude_model` and `budget_usd` answers.
    """
    if not 1 <= start <= stop <= len(PHASES):
        raise EngineError(f"--from {start} --to {stop} is not a range within 1-{len(PHASES)}")
    project = Project.open(root)
    answers = dict(project.answers)
    filler = backend_for(backend, answers, claude or Flags(), say)
    with run_state.locked(root):
        recover(root, say)
        state = run_state.load(root)
        capsule = capsule or state.capsule
        if capsule:
            answers |= load_capsule(project, capsule)
            say(f"Loaded capsule: {capsule}")
            state.capsule = capsule
        if redo is not None:
            state.phases[phase(redo).number].status = "pending"
        facts = run_state.load_facts(root)
        runner = PhaseRun(root, project, state, facts, answers, capsule, filler, say)
        for spec in PHASES[start - 1 : stop]:
            ended = runner.gate() if spec.gate else runner.phase(spec)
            if ended:
                return ended
        return "done"


def _proposed(root: Path) -> adr.Record:
    record = _gate_record(root)
    if record is None or record.status != "proposed":
        raise EngineError("there is no design awaiting approval; run `ml-phases run` first")
    return record


def approve(root: Path, option: str | None = None, say: Callable[[str], None] = print) -> str:
    """Accept the proposed design, or the same design with another candidate.

    The approval is the gate's record saying `accepted` (the state reads it from there), written
    in one atomic step, so whenever the process dies, status and records agree.
    """
    with run_state.locked(root):
        recover(root, say)
        record = _proposed(root)
        chosen = option or record.chosen
        if chosen not in CANDIDATE_ROLES:
            raise EngineError(f"option '{chosen}' is not one of {', '.join(CANDIDATE_ROLES)}")
        because = (
            "the user approved the recommended design."
            if chosen == record.chosen
            else f"the user approved it in place of the recommended {record.chosen}."
        )
        # Another candidate brings its own trade: its pros and cons become the consequences.
        others = (o for o in record.options if o.name == chosen and chosen != record.chosen)
        picked = next(others, None)
        accepted = dataclasses.replace(
            record,
            status="accepted",
            chosen=chosen,
            because=because,
            good=picked.pros if picked else record.good,
            bad=picked.cons if picked else record.bad,
            confirmation="Approved with `ml-phases approve`.",
        )
        folder, spec = layout.adr_dir(root), gate()
        names = [adr.records(folder)[spec.number], folder / adr.filename(accepted)]
        paths = list(dict.fromkeys(relative(root, path) for path in [*names, folder / adr.INDEX]))
        message = f"{spec.label}: design approved ({chosen})"
        with Journal(root, str(spec.number), paths, list(paths), message, say, settled=True):
            adr.write(accepted, folder)
        report.refresh(root, say)
    return chosen


def reject(root: Path, reason: str, say: Callable[[str], None] = print) -> str:
    """Refuse the proposed design: the design phases before the gate run again with the
    reason, then the gate."""
    if not reason.strip():
        raise EngineError('a rejection needs a reason: ml-phases reject --reason "…"')
    with run_state.locked(root):
        recover(root, say)
        state = run_state.load(root)
        record = _proposed(root)
        folder = layout.adr_dir(root)
        again = [spec.number for spec in (*redone_on_reject(), gate())]
        refused = [p for n, p in adr.records(folder).items() if n in again]
        tracked = [*(relative(root, p) for p in refused), relative(root, folder / adr.INDEX)]
        touched = [*tracked, relative(root, layout.state_file(root))]
        message = f"Design rejected ({record.chosen}): {reason}"
        with Journal(root, "reject", touched, list(tracked), message, say):
            state.approval.reasons.append(reason.strip())
            state.approval.rejected.append(record.chosen)
            for number in again:
                state.phases[number] = run_state.PhaseState()
            run_state.save(root, state)
            history = layout.history(root)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            for path in refused:  # keep the refused records, then redo them
                layout.atomic_write(history / f"{stamp}-{path.name}", path.read_text())
                path.unlink()
            adr.write_index(folder)
        report.refresh(root, say)
    return record.chosen
