"""What the report shows, gathered from what the phases left: the run state, the ADRs (their
decisions and front matter), facts.json, and the plots of the held-out run.

Every figure is read together with the record it comes from (`Source`), so the page can link it
to its ADR. Read-only: nothing here writes.
"""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import layout
from .. import state as run_state
from ..adr import Record, records
from ..phases import FIXES_AND_VERIFICATION, AgentFacts, Facts, Phase
from ..project import Project

# Plot bytes inlined into one page, all plots together: base64 makes them a third larger, and with
# the chart libraries (832 KB) the page stays under 2 MB. Plots past it are linked instead.
INLINE_BUDGET = 750_000


@dataclass(frozen=True)
class Source:
    """The ADR a figure comes from: its number, title and address from the report."""

    number: int
    title: str
    href: str


@dataclass(frozen=True)
class Plot:
    name: str
    href: str  # the file, from the report
    data_uri: str  # the PNG inlined; '' when it is too large and only linked


@dataclass(frozen=True)
class Evidence:
    """A project's run as it stands: its answers, each phase's state and record, the facts the
    offline analysts measured, and the held-out run's plots."""

    name: str
    answers: dict[str, Any]
    state: run_state.RunState
    records: dict[int, Record | str]  # each record on disk, or why it cannot be read
    sources: dict[int, Source]
    facts: Facts
    plots: tuple[Plot, ...]
    index: str  # the records' index, docs/adr/README.md, from the report

    def record(self, spec: Phase) -> Record | None:
        found = self.records.get(spec.number)
        return found if isinstance(found, Record) else None

    def measured(self, spec: Phase) -> Any:
        """The phase's own facts, if the offline analysts did it and its record is readable."""
        found = self.facts.of(spec)
        if isinstance(found, AgentFacts) or spec.number not in self.sources:
            return None
        return found

    def by_agents(self, spec: Phase) -> bool:
        """Whether the Claude agents did the phase: their figures are in the record's prose."""
        return isinstance(self.facts.of(spec), AgentFacts)


def href(root: Path, path: Path) -> str:
    """A file's address from the report (docs/report.html), as a relative URL ('#', '%' and
    spaces in a name escaped)."""
    start = layout.report_file(root).parent
    return quote(Path(os.path.relpath(path, start)).as_posix())


def plots(root: Path, run_dir: str) -> tuple[Plot, ...]:
    """The PNG plots of a run folder inside the project (evaluation's and monitoring's): regular
    files only, each inside the project once links are followed, so a link planted in the
    folder cannot put another file into the page, and a pipe cannot hang it."""
    project = root.resolve()
    folder = (root / run_dir / "plots").resolve()
    if not folder.is_relative_to(project) or not folder.is_dir():
        return ()  # a run outside the project is not the report's to read
    found, budget = [], INLINE_BUDGET
    for path in sorted(folder.glob("*.png")):
        real = path.resolve()
        try:
            info = real.stat()
        except OSError:  # a dangling link
            continue
        if not real.is_relative_to(project) or not stat.S_ISREG(info.st_mode):
            continue
        uri = ""
        if info.st_size <= budget:  # one past the budget is linked, never read
            uri = f"data:image/png;base64,{base64.b64encode(real.read_bytes()).decode()}"
            budget -= info.st_size
        found.append(Plot(path.stem.replace("_", " "), href(project, folder / path.name), uri))
    return tuple(found)


def gather(root: Path) -> Evidence:
    """The evidence of the project at `root` now; a StateError or ToolError when its state or
    answers cannot be read."""
    project = Project.open(root)
    folder = layout.adr_dir(root)
    found = run_state.readable(root)
    on_disk = records(folder)
    sources = {
        number: Source(number, record.title, href(root, on_disk[number]))
        for number, record in found.items()
        if isinstance(record, Record)
    }
    facts = run_state.load_facts(root)
    held_out = facts.of(FIXES_AND_VERIFICATION)
    run_dir = held_out.train["run_dir"] if hasattr(held_out, "train") else None
    return Evidence(
        name=project.root.name,
        answers=dict(project.answers),
        state=run_state.load(root, found),  # the records parsed once, for both
        records=found,
        sources=sources,
        facts=facts,
        plots=plots(root, run_dir) if run_dir and FIXES_AND_VERIFICATION.number in sources else (),
        index=href(root, root / layout.ADR_INDEX),
    )
