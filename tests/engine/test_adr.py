"""MADR 4 records: they render, parse back, index themselves, and tools can read them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from fakes import record
from ml_phases.adr import (
    INDEX_COLUMNS,
    INDEX_HEADER,
    Option,
    Record,
    RecordError,
    parse,
    render,
    table,
    write,
)

MADR_SECTIONS = [
    "## Context and Problem Statement",
    "## Decision Drivers",
    "## Considered Options",
    "## Decision Outcome",
    "### Consequences",
    "### Confirmation",
    "## Pros and Cons of the Options",
    "## More Information",
]


def test_render_has_madr_sections_in_order_and_front_matter() -> None:
    text = render(record())
    positions = [text.index(section + "\n") for section in MADR_SECTIONS]
    assert positions == sorted(positions)
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["status"] == "accepted"
    assert front["decision-makers"] == ["ml-architect"] * 3
    assert front["ml-flow"]["phase"] == 4
    assert re.search(r"^# 4\. Model architecture", text, re.MULTILINE)
    assert 'Chosen option: "baseline", because' in text


def test_parse_round_trips() -> None:
    original = record()
    assert parse(render(original)) == original


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# 1. No front matter\n", "no YAML front matter"),
        ("---\nstatus: [\n---\n# 1. T\n", "not valid YAML"),
        ("---\nstatus: accepted\n---\nno title\n", "no level-one title"),
    ],
)
def test_unreadable_records_say_why(text: str, problem: str) -> None:
    with pytest.raises(RecordError, match=problem):
        parse(text)


def test_invalid_records_are_refused() -> None:
    with pytest.raises(RecordError, match="status 'maybe'"):
        record(status="maybe")
    with pytest.raises(RecordError, match="chosen option"):
        Record(
            number=1,
            title="t",
            status="accepted",
            date="d",
            decision_makers=[],
            context="",
            drivers=[],
            options=[Option("a")],
            chosen="b",
            because="",
        )


def test_write_names_the_file_and_indexes_it(tmp_path: Path) -> None:
    folder = tmp_path / "docs/adr"
    path = write(record(4), folder)
    write(record(1), folder)
    assert path.name == "0004-model-architecture-gradient-boosted-trees.md"
    index = (folder / "README.md").read_text()
    assert index.startswith(INDEX_HEADER)
    rows = [
        line for line in index.splitlines() if line.startswith("| 1 ") or line.startswith("| 4 ")
    ]
    assert [row.split(" | ")[0] for row in rows] == ["| 1", "| 4"]
    assert "| accepted | 4 |" in rows[1]
    assert not list(folder.glob(".*partial"))


def test_rewriting_a_record_replaces_it(tmp_path: Path) -> None:
    folder = tmp_path / "adr"
    write(record(6, status="proposed"), folder)
    renamed = record(6)
    renamed.title = "Design approval"
    write(renamed, folder)
    assert [path.name for path in sorted(folder.glob("0006-*.md"))] == ["0006-design-approval.md"]


def test_records_and_index_pass_markdownlint_with_the_projects_config(
    tmp_path: Path, markdownlint
) -> None:
    """Current markdownlint-cli2 (MD060 table style included) with the generated project's
    `.markdownlint-cli2.yaml`, which turns line length (MD013) off on purpose."""
    folder = tmp_path / "adr"
    measured = record(4)
    measured.context += "\n\n" + table(("model", "score | spread"), [("a|b", "0.9 ± 0.1")])
    write(record(1), folder)
    write(measured, folder)
    linted = markdownlint(sorted(folder.glob("*.md")))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_tables_escape_pipes_and_use_one_delimiter_style() -> None:
    text = table(("a", "b"), [("x|y", 1)])
    assert text.splitlines() == ["| a | b |", "| --- | --- |", "| x\\|y | 1 |"]


def test_the_template_ships_the_engine_index_header() -> None:
    shipped = (ROOT / "template/docs/adr/README.md").read_text()
    assert shipped == INDEX_HEADER + table(INDEX_COLUMNS, []) + "\n"
