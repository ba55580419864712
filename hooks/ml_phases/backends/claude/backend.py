"""The Claude backend: each agent of a phase is a tool-using Claude conversation.

Steps run in order and the agents of a step run concurrently (phase 5's fact-checkers start
after its architects and read their reports). Agents write only their own files; any project
file that no agent wrote is put back when the phase ends. Reports are merged into the
phase's ADR with the tokens and dollars the phase used. The gate (phase 6) has no agents: it
puts the design of the phases before it to the user, as in the offline backend.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ... import adr, layout, phases
from ...adr import Option
from ...changes import Snapshot, project_files
from ...phases import FIXES_AND_VERIFICATION, MODEL_ARCHITECTURE, Agent, AgentFacts, Phase
from ..base import TOKEN_KINDS, BackendError, Context, PhaseIncomplete, Report, approval_prompt
from . import api, prompts, report
from .agent import CACHE, AgentRun, Transcript, converse
from .limits import Budget, Limits
from .pricing import UnknownModel, Usage, price
from .sandbox import Sandbox
from .settings import Settings
from .tools import Toolbox, definitions

FULL_SUITE_PHASES = (FIXES_AND_VERIFICATION,)  # phases whose change the whole suite checks


@dataclass
class ClaudeBackend:
    settings: Settings
    say: Callable[[str], None] = print
    client: object = None  # made at the first agent (a run with nothing to do needs no key)
    budget: Budget = field(init=False)
    name = "claude"

    def __post_init__(self) -> None:
        try:
            price(self.settings.model)
        except UnknownModel as exc:
            raise BackendError(str(exc)) from None
        self.budget = Budget(self.settings.budget_usd)

    def fill(self, spec: Phase, ctx: Context) -> Report:
        if not spec.agents:
            return design_gate(ctx)
        self.client = self.client or api.client()
        root = ctx.project.root
        limits = Limits(self.budget, self.settings.phase_seconds, self.settings.max_turns)
        guard = Snapshot.take(root, project_files(root))
        runs: list[AgentRun] = []
        try:
            for step in spec.steps:
                self._step(spec, step.agents, runs, ctx, limits)
        finally:
            written = {path for run in runs for path in run.written}
            put_back = _put_back(root, spec.number, guard, written)
            _log_usage(root, spec.number, runs, self.settings.model)
        merged = report.merge([(run.name, run.report) for run in runs if run.report])
        if put_back:
            merged.bad.append(f"a command changed files no agent wrote: put back {put_back}")
        _account(merged, runs, self.settings.model)
        shutil.rmtree(layout.agent_reports(root, spec.number), ignore_errors=True)
        if ctx.workspace is not None:  # the final tests get what is left of the clock, or 60 s
            timeout = max(limits.remaining(), 60.0)
            ctx.workspace.verify(full=spec in FULL_SUITE_PHASES, timeout=timeout)
        return merged

    def _step(
        self,
        spec: Phase,
        agents: tuple[Agent, ...],
        runs: list[AgentRun],
        ctx: Context,
        limits: Limits,
    ) -> None:
        """Run a step's agents in threads, adding them to runs (counted even if stopped).

        The first agent to fail or hit a limit stops the others at their next request.
        """
        inputs = prompts.phase_inputs(spec, ctx)
        earlier = [(run.name, run.report.model_dump_json()) for run in runs if run.report]
        first = len(runs)
        runs += [AgentRun(f"{agent.role} ({agent.focus})") for agent in agents]
        with ThreadPoolExecutor(max_workers=len(agents)) as pool:
            futures = [
                pool.submit(
                    self._agent,
                    spec,
                    agent,
                    first + i,
                    runs[first + i - 1],
                    inputs,
                    prompts.task(spec, agent, ctx.project.package, earlier),
                    ctx,
                    limits,
                )
                for i, agent in enumerate(agents, 1)
            ]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                if any(future.exception() for future in done):
                    limits.stop("another agent of the phase stopped")
                wait(futures)
            except KeyboardInterrupt:
                limits.stop("stopped by the user")  # agents stop at their next request
                raise
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise next((e for e in errors if not isinstance(e, PhaseIncomplete)), errors[0])

    def _agent(
        self,
        spec: Phase,
        agent: Agent,
        index: int,
        run: AgentRun,
        inputs: str,
        brief: str,
        ctx: Context,
        limits: Limits,
    ) -> None:
        root, package = ctx.project.root, ctx.project.package
        key = hashlib.sha256(f"{self.settings.model}\n{inputs}\n{brief}".encode()).hexdigest()
        saved = layout.agent_reports(root, spec.number) / f"agent-{index}.json"
        if not spec.writes_code and _reuse(saved, key, run):
            self.say(f"  {run.name}: reused the report of the interrupted attempt")
            return
        sandbox = Sandbox(
            ctx.project,
            frozenset(path.format(pkg=package) for path in agent.owns),
            protected=_accepted_records(root),
        )
        system = [
            {"type": "text", "text": prompts.system_prompt(agent.role)},
            {"type": "text", "text": inputs, "cache_control": CACHE},
        ]
        messages = api.Messages(
            self.client,
            limits,
            self.settings.retry,
            on_retry=lambda failure, seconds: self.say(
                f"  {run.name}: {failure}; retrying in {seconds:.2f} s"
            ),
        )
        name = f"agent-{index}-{agent.role}.jsonl"
        converse(
            run,
            messages=messages,
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=system,
            tools=definitions(package),
            task=brief,
            toolbox=Toolbox(sandbox, limits.remaining, run.written),
            check=lambda raw: report.validate(raw, spec, ctx.candidates, frozenset(ctx.excluded)),
            limits=limits,
            transcript=Transcript(layout.transcript(root, spec.number, name)),
        )
        if not spec.writes_code:
            layout.atomic_write(saved, json.dumps({"key": key, "report": run.report.model_dump()}))
        self.say(f"  {run.name}: done in {run.turns} turns, ${run.cost_usd:.4f}")


def _reuse(saved: Path, key: str, run: AgentRun) -> bool:
    """Take a report an interrupted attempt of this phase finished with the same inputs."""
    try:
        data = json.loads(saved.read_text(encoding="utf-8"))
        if data["key"] != key:
            return False
        run.report, run.reused = report.AgentReport.model_validate(data["report"]), True
    except (OSError, ValueError, KeyError):
        return False
    return True


def _accepted_records(root: Path) -> frozenset[str]:
    folder = layout.adr_dir(root)
    return frozenset(
        path.relative_to(root).as_posix()
        for path in [*adr.records(folder).values(), folder / adr.INDEX]
    )


def _put_back(root: Path, number: int, guard: Snapshot, written: set[str]) -> str:
    """Undo what commands did to the project's files (an agent's own writes stay): restore
    changed files and remove new ones, keeping their contents under .ml-flow/put-back/ (an
    edit a user made meanwhile is moved aside, never lost)."""
    added = [p for p in project_files(root) if p not in guard.before]
    guard.before.update(dict.fromkeys(added))  # new files: absent before the phase
    moved = [path for path in guard.changed() if path not in written]
    keep = layout.put_back(root, str(number))  # as the engine's own put-backs are named
    guard.restore(moved, keep=keep)
    if not moved:
        return ""
    return ", ".join(moved) + f" (as they were changed: {keep.relative_to(root)}/)"


def _log_usage(root: Path, number: int, runs: list[AgentRun], model: str) -> None:
    """Every agent's tokens and dollars, finished or not, in .ml-flow/usage.jsonl."""
    path = layout.usage_log(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        for run in runs:
            row = {"phase": number, "agent": run.name, "model": model, "turns": run.turns}
            row |= {"reused": run.reused, "finished": run.report is not None}
            row |= {"tokens": run.usage.as_dict(), "cost_usd": round(run.cost_usd, 6)}
            file.write(json.dumps(row) + "\n")


def _account(merged: Report, runs: list[AgentRun], model: str) -> None:
    total = sum((run.usage for run in runs), Usage())
    merged.model, merged.tokens = model, total.as_dict()
    merged.cost_usd = round(sum(run.cost_usd for run in runs), 6)
    lines = [
        f"* {run.name}: {run.turns} turns, {_tokens(run.usage)} tokens, ${run.cost_usd:.4f}"
        + (" (report reused from an interrupted attempt)" if run.reused else "")
        for run in runs
    ]
    usage = f"Agents ({model}; prices in ml_phases/backends/claude/pricing.py):\n\n"
    usage += "\n".join(lines)
    merged.more = "\n\n".join(part for part in (merged.more, usage) if part)


def _tokens(usage: Usage) -> str:
    return ", ".join(f"{getattr(usage, kind):,} {kind.replace('_', ' ')}" for kind in TOKEN_KINDS)


def design_gate(ctx: Context) -> Report:
    """The gate: the design of the phases before it, from their records, put to the user."""
    folder = layout.adr_dir(ctx.project.root)
    records = {n: adr.parse(p.read_text(encoding="utf-8")) for n, p in adr.records(folder).items()}
    picked = MODEL_ARCHITECTURE.number
    model = records.get(picked)
    candidates = ctx.candidates
    if model is None or model.chosen not in candidates:
        raise BackendError(
            f"the design gate needs phase {picked}'s record with a candidate; redo phase {picked}"
        )
    assessed = {option.name: option for option in model.options}
    options = [
        Option(
            name,
            assessed[name].summary if name in assessed else f"the project's {model_name} model",
            ([f"recommended by Phase {picked}"] if name == model.chosen else [])
            + (assessed[name].pros if name in assessed else []),
            assessed[name].cons if name in assessed else [],
        )
        for name, model_name in candidates.items()
        if name not in ctx.excluded or name == model.chosen
    ]
    design = phases.designed()
    summary = "\n".join(
        f"* Phase {spec.number}: {record.title} (chosen: {record.chosen})"
        for spec in design
        if (record := records.get(spec.number))
    )
    return Report(
        title=f"Design approval: {model.chosen} ({candidates[model.chosen]})",
        context=(
            f"The design of phases {phases.span(design)}, by the Claude agents:\n\n{summary}\n\n"
            + approval_prompt()
        ),
        drivers=["the user decides before any code changes"],
        options=options,
        chosen=model.chosen,
        because=f"Phase {picked} recommends it by the rule stated there.",
        good=model.good,
        bad=model.bad,
        confirmation="Recorded when the user approves.",
        facts=AgentFacts(chosen=model.chosen),
        status="proposed",
    )
