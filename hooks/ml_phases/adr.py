"""Architecture Decision Records in MADR 4 format, with an `ml-flow` front-matter block.

One record per phase: docs/adr/NNNN-<slug>.md (numbered, a level-one title, YAML front matter,
so adr-log and log4brains read them too), and docs/adr/README.md indexing them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .layout import atomic_write

STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
INDEX_HEADER = """# Architecture Decision Records

One record per design phase, in [MADR 4](https://adr.github.io/madr/) format, numbered in the
order the decisions were made. The phase engine (`ml-phases`) writes them and keeps this index.

"""
INDEX_COLUMNS = ("#", "Decision", "Status", "Phase")
INDEX = "README.md"  # the index, beside the records


# libyaml's loader where PyYAML has it: `status` parses every record, and it is several times
# faster than the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases: ADR tools read plain front matter."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class RecordError(ValueError):
    """A record file that is not a readable MADR record."""


@dataclass
class Option:
    name: str
    summary: str = ""
    pros: list[str] = field(default_factory=list)
    cons: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Decision:
    """What a record says: the content a phase decides, without its number, date or makers."""

    title: str
    context: str
    drivers: list[str]
    options: list[Option]
    chosen: str
    because: str
    good: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    confirmation: str = ""
    more: str = ""
    status: str = "accepted"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise RecordError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.chosen not in {option.name for option in self.options}:
            raise RecordError(f"chosen option {self.chosen!r} is not among the options")


@dataclass(kw_only=True)
class Record(Decision):
    """A decision as written to docs/adr: numbered, dated, with its makers and ml-flow block."""

    number: int
    date: str
    decision_makers: list[str]
    flow: dict[str, Any] = field(default_factory=dict)  # the ml-flow block


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "record"


def filename(record: Record) -> str:
    return f"{record.number:04d}-{slugify(record.title)}.md"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table in one style (`| a |` cells, `| --- |` delimiters), so markdownlint's
    table rules (MD055, MD056, MD060) pass; a `|` inside a cell is escaped."""

    def line(cells: Sequence[object]) -> str:
        text = (str(cell).replace("|", "\\|").replace("\n", " ") for cell in cells)
        return "| " + " | ".join(text) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def _bullets(items: list[str]) -> str:
    return "\n".join(f"* {item}" for item in items) if items else "* none"


def render(record: Record) -> str:
    """The record as Markdown: front matter, then MADR's sections in MADR's order."""
    front = {
        "status": record.status,
        "date": record.date,
        "decision-makers": record.decision_makers,
        "ml-flow": record.flow,
    }
    options = "\n".join(f"* {option.name}" for option in record.options)
    pros_and_cons = "\n\n".join(
        f"### {option.name}\n\n"
        + (f"{option.summary}\n\n" if option.summary else "")
        + "\n".join(
            [
                *(f"* Good, because {pro}" for pro in option.pros),
                *(f"* Bad, because {con}" for con in option.cons),
            ]
            or ["* Neutral: no measured difference"]
        )
        for option in record.options
    )
    consequences = [
        *(f"* Good, because {item}" for item in record.good),
        *(f"* Bad, because {item}" for item in record.bad),
    ]
    sections = [
        f"---\n{yaml.dump(front, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)}---",
        f"# {record.number}. {record.title}",
        f"## Context and Problem Statement\n\n{record.context.strip()}",
        f"## Decision Drivers\n\n{_bullets(record.drivers)}",
        f"## Considered Options\n\n{options}",
        "## Decision Outcome\n\n"
        f'Chosen option: "{record.chosen}", because {record.because.strip()}',
        "### Consequences\n\n" + ("\n".join(consequences) or "* none recorded"),
        f"### Confirmation\n\n{record.confirmation.strip() or 'Not yet confirmed.'}",
        f"## Pros and Cons of the Options\n\n{pros_and_cons}",
        f"## More Information\n\n{record.more.strip() or 'None.'}",
    ]
    return "\n\n".join(sections) + "\n"


def _section(body: str, title: str, level: int = 2) -> str:
    marker = "#" * level
    match = re.search(
        rf"^{marker} {re.escape(title)}\n\n(.*?)(?=^#{{1,{level}}} |\Z)",
        body,
        re.MULTILINE | re.DOTALL,
    )
    return match.group(1).strip() if match else ""


def _items(text: str) -> list[str]:
    items = [line[2:] for line in text.splitlines() if line.startswith("* ")]
    return [] if items == ["none"] else items


def parse(text: str) -> Record:
    """A record back from its Markdown (what render wrote, or a hand edit of it)."""
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    if not match:
        raise RecordError("no YAML front matter between '---' lines at the top")
    try:
        front = yaml.load(match.group(1), Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise RecordError(f"front matter is not valid YAML: {exc}") from None
    if not isinstance(front, dict):
        raise RecordError("the front matter is not a mapping of keys to values")
    makers, flow = front.get("decision-makers") or [], front.get("ml-flow") or {}
    if not isinstance(makers, list) or not isinstance(flow, dict):
        raise RecordError("'decision-makers' must be a list and 'ml-flow' a mapping")
    body = match.group(2)
    title = re.search(r"^# (\d+)\. (.+)$", body, re.MULTILINE)
    if not title:
        raise RecordError("no level-one title of the form '# N. Title'")
    outcome = _section(body, "Decision Outcome")
    chosen = re.match(r'Chosen option: "(.+?)", because (.*)', outcome, re.DOTALL)
    if not chosen:
        raise RecordError("Decision Outcome does not start with 'Chosen option: \"…\", because'")
    options = []
    for name in _items(_section(body, "Considered Options")):
        block = _section(body, name, level=3)
        lines = block.splitlines()
        summary = "\n".join(line for line in lines if not line.startswith("* ")).strip()
        pros = [
            line.removeprefix("* Good, because ")
            for line in lines
            if line.startswith("* Good, because ")
        ]
        cons = [
            line.removeprefix("* Bad, because ")
            for line in lines
            if line.startswith("* Bad, because ")
        ]
        options.append(Option(name, summary, pros, cons))
    consequences = _items(_section(body, "Consequences", level=3))
    return Record(
        number=int(title.group(1)),
        title=title.group(2).strip(),
        status=str(front.get("status", "")),
        date=str(front.get("date", "")),
        decision_makers=[str(maker) for maker in makers],
        context=_section(body, "Context and Problem Statement"),
        drivers=_items(_section(body, "Decision Drivers")),
        options=options,
        chosen=chosen.group(1),
        because=chosen.group(2).split("\n\n###")[0].strip(),
        good=[
            c.removeprefix("Good, because ") for c in consequences if c.startswith("Good, because ")
        ],
        bad=[
            c.removeprefix("Bad, because ") for c in consequences if c.startswith("Bad, because ")
        ],
        confirmation=_section(body, "Confirmation", level=3),
        more=_section(body, "More Information"),
        flow=flow,
    )


def records(folder: Path) -> dict[int, Path]:
    """The numbered record files in a folder, by number."""
    found = {}
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]-*.md")):
        found[int(path.name[:4])] = path
    return found


def write(record: Record, folder: Path) -> Path:
    """Write a record (replacing an earlier file of the same number) and refresh the index."""
    for number, old in records(folder).items():
        if number == record.number and old.name != filename(record):
            old.unlink()
    path = atomic_write(folder / filename(record), render(record))
    write_index(folder)
    return path


def write_index(folder: Path) -> Path:
    rows = []
    for number, path in records(folder).items():
        try:
            record = parse(path.read_text(encoding="utf-8"))
        except RecordError as exc:
            rows.append((number, f"[{path.name}]({path.name}) (unreadable: {exc})", "?", "?"))
            continue
        phase = record.flow.get("phase", "")
        rows.append((number, f"[{record.title}]({path.name})", record.status, phase))
    return atomic_write(folder / INDEX, INDEX_HEADER + table(INDEX_COLUMNS, rows) + "\n")
