"""docs/report.html: the record and its figures on one page, written after every change the
engine makes, with every figure linked to its ADR, checked in a real browser."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import threading
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import assert_report_works
from fakes import MONITOR, canned_project, drift
from ml_phases import cli, engine, layout, report

# A cell whose whole text is a figure: 0.9939, 1,000, -0.57, 2.4e-05, [0.98, 1], $0.0000, 12 s.
FIGURE = re.compile(r"^\$?\[?-?[\d.,]+(e[-+]?\d+)?(, -?[\d.,]+(e[-+]?\d+)?\])?( s)?$")


def png(width: int = 64, height: int = 48) -> bytes:
    """A valid grey PNG, as evaluate's plots are."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows)),
            chunk(b"IEND", b""),
        ]
    )


def finished(
    root: Path, monkeypatch: pytest.MonkeyPatch, task: str = "classification", **outputs: Any
) -> dict[str, Any]:
    """The canned project run through all twelve phases (approved at the gate), with the
    held-out run's plots on disk."""
    project = canned_project(root, monkeypatch, task)
    project["outputs"].update(outputs)
    engine.run(root)
    engine.approve(root)
    assert engine.run(root) == "done"
    plots = root / "outputs/runs/1-gbm/plots"
    plots.mkdir(parents=True)
    for name in ("roc", "calibration"):
        (plots / f"{name}.png").write_bytes(png())
    report.write(root)
    return project


class Cells(HTMLParser):
    """Each table cell's text with the link it sits in, and the page's chart specs."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str | None]] = []
        self.links: list[str | None] = []
        self.in_cell = False
        self.in_specs = False
        self.specs = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "td":
            self.in_cell = True
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "script" and ("id", "chart-specs") in attrs:
            self.in_specs = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.in_cell = False
        elif tag == "a":
            self.links.pop()
        elif tag == "script":
            self.in_specs = False

    def handle_data(self, data: str) -> None:
        if self.in_cell and data.strip():
            self.cells.append((data.strip(), self.links[-1] if self.links else None))
        if self.in_specs:
            self.specs += data


def page(root: Path) -> Cells:
    parsed = Cells()
    parsed.feed(layout.report_file(root).read_text(encoding="utf-8"))
    return parsed


def test_the_page_follows_the_run_phase_by_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = canned_project(tmp_path / "churn", monkeypatch)
    root = project["root"]
    assert engine.run(root) == "gate"
    text = layout.report_file(root).read_text()
    assert "5 of 12 phases done" in text
    assert "awaiting approval" in text
    assert "Phase 11 (Fixes &amp; Verification) has not run yet." in text
    assert set(json.loads(page(root).specs)) == {"timeline", "bakeoff"}

    engine.approve(root, "baseline")  # not the recommended gbm: the page marks the approved one
    assert "6 of 12 phases done" in layout.report_file(root).read_text()
    marked = json.loads(page(root).specs)["bakeoff"]["data"]["values"]
    assert [row["candidate"] for row in marked if row["marked"] == "chosen"] == [
        "linear (baseline)"
    ]
    assert engine.run(root) == "done"
    text = layout.report_file(root).read_text()
    assert "12 of 12 phases done" in text
    assert "has not run yet" not in text
    specs = json.loads(page(root).specs)
    assert set(specs) == {"timeline", "bakeoff", "held-out", "serving", "monitoring"}
    bakeoff = specs["bakeoff"]["data"]["values"]
    assert [row["candidate"] for row in bakeoff if row["marked"] == "chosen"] == [
        "linear (baseline)"
    ]
    timeline = specs["timeline"]["data"]["values"]
    assert [row["phase"][:3] for row in timeline] == [
        f"{n}. " if n < 10 else f"{n}." for n in range(1, 13)
    ]
    assert all(row["end"] > row["start"] for row in timeline if row["seconds"] > 0)
    # The drift chart draws what phase 12 measured, against its threshold.
    assert {row["feature"] for row in specs["monitoring"]["data"]["values"]} == {"tenure", "plan"}


def test_every_figure_in_a_table_links_to_a_record_that_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "churn"
    finished(root, monkeypatch)
    parsed = page(root)
    figures = [(text, link) for text, link in parsed.cells if FIGURE.match(text)]
    assert len(figures) > 100  # the timeline, bake-off, held-out, latency and drift tables
    unlinked = [text for text, link in figures if link is None]
    assert unlinked == []
    docs = layout.report_file(root).parent
    for _, link in figures:
        assert link.startswith("adr/"), link
        assert (docs / unquote(link)).is_file(), link
    for spec in json.loads(parsed.specs).values():
        rows = spec["data"]["values"]
        assert all((docs / row["href"]).is_file() for row in rows if "href" in row)


def test_hostile_names_are_shown_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    monitor = {**MONITOR, "features": [drift(hostile, 0.3, 1e-5, True), drift("plan", 0.02, 0.8)]}
    root = tmp_path / "churn"
    finished(root, monkeypatch, monitor=monitor)
    text = layout.report_file(root).read_text()
    assert hostile not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in text  # in the drift table, as text
    specs = json.loads(page(root).specs)  # in the chart's data, still the name itself
    assert hostile in {row["feature"] for row in specs["monitoring"]["data"]["values"]}


def test_phases_the_claude_agents_did_link_their_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "churn"
    finished(root, monkeypatch)
    facts = layout.facts_file(root)
    found = json.loads(facts.read_text())
    found["model-architecture"] = {"chosen": "sota", "findings": [], "backend": "claude"}
    finding = {"file": "src/churn/train.py", "line": 42, "confidence": 90, "message": "no seed"}
    found["quality-review"] = {"chosen": "fix", "findings": [finding], "backend": "claude"}
    facts.write_text(json.dumps(found))
    report.write(root)
    text = layout.report_file(root).read_text()
    assert "Phase 4 (Model Architecture) was done by the Claude agents" in text
    assert "bakeoff" not in json.loads(page(root).specs)
    # The Claude reviewers' confident findings are listed at file:line, linked to their record;
    # how many fell below the threshold is in the record's prose only, so the page gives none.
    assert "1 findings at confidence 80 or more\n" in text.replace("</p>", "\n")
    cells = page(root).cells
    ((_, link),) = [(text, link) for text, link in cells if text == "src/churn/train.py:42"]
    assert link.startswith("adr/0010-")
    assert ("no seed", None) in cells


def test_a_page_that_cannot_be_written_does_not_undo_the_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    project = canned_project(tmp_path / "churn", monkeypatch)

    def broken(root: Path) -> Path:
        raise OSError("No space left on device")

    monkeypatch.setattr(report, "write", broken)
    assert engine.run(project["root"]) == "gate"
    said = capsys.readouterr().out
    assert "report: docs/report.html was not refreshed (OSError: No space left on device)" in said
    assert len(list((project["root"] / "docs/adr").glob("0*.md"))) == 6


def test_the_report_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    root = tmp_path / "churn"
    finished(root, monkeypatch)
    layout.report_file(root).unlink()
    capsys.readouterr()  # what the run said
    monkeypatch.setattr(report.webbrowser, "open", lambda uri: False)
    cli.main(["--project", str(root), "report", "--open"])
    out = capsys.readouterr().out
    assert layout.report_file(root).is_file()
    assert out == (
        f"Report: {layout.report_file(root).resolve().as_uri()}\n"
        "No web browser found here; open the address above in one.\n"
    )

    with pytest.raises(SystemExit) as stopped:
        cli.main(["--project", str(tmp_path), "report"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        f"ml-phases: error: {tmp_path} is not a generated project (no .copier-answers.yml)\n"
    )
    layout.state_file(root).write_text("{not json")
    before = layout.report_file(root).read_bytes()
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--project", str(root), "report"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("ml-phases: error: ")
    assert "is corrupt" in error
    assert error.count("\n") == 1
    assert layout.report_file(root).read_bytes() == before  # the last good page is kept


@pytest.mark.parametrize("task", ["classification", "forecasting"])
def test_the_page_opens_in_chromium_with_every_chart_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser, task: str
) -> None:
    hostile = "</script><script>alert(1)</script>"
    monitor = {**MONITOR, "features": [drift(hostile, 0.3, 1e-5, True), drift("plan", 0.02, 0.8)]}
    root = tmp_path / task
    project = finished(root, monkeypatch, task, monitor=monitor)
    facts = layout.facts_file(root)  # a failed fold: NaN, which JSON cannot carry
    found = json.loads(facts.read_text())
    found["model-architecture"]["bakeoff"]["results"][0]["folds"][0] = float("nan")
    facts.write_text(json.dumps(found))
    report.write(project["root"])
    seen = assert_report_works(browser, layout.report_file(root), f"report-canned-{task}")
    assert set(seen.marks) == {f"chart-{key}" for key in json.loads(page(root).specs)}


def test_only_the_run_s_own_plot_files_reach_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link planted in the plots folder cannot put another file into the page, a pipe
    cannot hang it, and a plot too large to inline is linked without being read."""
    root = tmp_path / "churn"
    finished(root, monkeypatch)
    plots = root / "outputs/runs/1-gbm/plots"
    secret = tmp_path / "secret.txt"
    secret.write_text("API_KEY=do-not-show")
    (plots / "leak.png").symlink_to(secret)
    (plots / "gone.png").symlink_to(tmp_path / "nowhere")
    (plots / "folder.png").mkdir()
    os.mkfifo(plots / "pipe.png")
    with (plots / "huge.png").open("wb") as huge:
        huge.truncate(3 * 1024**3)  # sparse: 3 GiB that must not be read
    for name in ("large_a", "large_b"):  # each fits the inline budget, both together do not
        (plots / f"{name}.png").write_bytes(os.urandom(400_000))
    report.write(root)
    text = layout.report_file(root).read_text()
    assert base64.b64encode(secret.read_bytes()).decode()[:12] not in text
    names = [name.rsplit("/", 1)[1] for name in re.findall(r'<figcaption><a href="([^"]+)">', text)]
    assert names == ["calibration.png", "huge.png", "large_a.png", "large_b.png", "roc.png"]
    assert text.count("data:image/png;base64,") == 3  # all but huge.png and large_b.png
    assert layout.report_file(root).stat().st_size < 2_000_000


def test_bad_figures_cost_one_section_and_bad_files_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    root = tmp_path / "churn"
    finished(root, monkeypatch)
    facts = layout.facts_file(root)
    found = json.loads(facts.read_text())
    found["summary"]["drift"] = {"features": []}  # a hand edit: no thresholds
    found["model-architecture"]["bakeoff"]["results"][1]["mean"] = float("nan")  # a failed fold
    facts.write_text(json.dumps(found))
    record = next((root / "docs/adr").glob("0005-*.md"))
    record.write_text(record.read_text().replace("ml-flow:\n", "ml-flow: oops\nx:\n", 1))
    cli.main(["--project", str(root), "report"])
    text = layout.report_file(root).read_text()
    assert "Phase 12&#39;s figures in .ml-flow/facts.json are not as the report expects" in text
    assert "ml-phases run --redo 12" in text
    assert "NaN" not in page(root).specs  # JSON has no NaN: the figure is null, charts still draw
    assert "is unreadable (&#39;decision-makers&#39; must be a list and &#39;ml-flow&#39;" in text
    good = layout.report_file(root).read_bytes()

    answers = root / ".copier-answers.yml"
    answers.write_text("{[: bad")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--project", str(root), "report"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(f"ml-phases: error: {answers} is not readable YAML")
    answers.write_text("- a list\n")
    with pytest.raises(SystemExit):
        cli.main(["--project", str(root), "report"])
    assert "must map each question to its answer" in capsys.readouterr().err
    assert layout.report_file(root).read_bytes() == good


def test_a_page_that_is_a_folder_is_one_line_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    root = tmp_path / "churn"
    finished(root, monkeypatch)
    layout.report_file(root).unlink()
    layout.report_file(root).mkdir()
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--project", str(root), "report"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("ml-phases: error: [Errno 21] Is a directory")
    assert error.count("\n") == 1
    assert not list((root / "docs").glob(".*partial"))


def test_two_writers_of_one_file_never_share_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "docs/report.html"
    failures: list[BaseException] = []

    def write(text: str) -> None:
        for _ in range(200):
            try:
                layout.atomic_write(target, text)
            except OSError as exc:
                failures.append(exc)

    writers = [threading.Thread(target=write, args=(char * 100_000,)) for char in "ab"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failures == []
    assert target.read_text() in ("a" * 100_000, "b" * 100_000)
    assert [path.name for path in target.parent.iterdir()] == ["report.html"]


def test_the_drift_chart_shows_monitor_s_worst_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """monitor lists the drifting features first, then by PSI; one that drifts by its missing
    rate (a small PSI) or has no PSI at all (no values on one side) stays in view."""
    missing = {**drift("plan", 0.01, 0.9, True), "reasons": ["missing_rate"]}
    empty = {**drift("region", 0.0, 1.0, True), "psi": None, "p_value": None}
    steady = [drift(f"f{n:02d}", 0.19 - n / 100, 0.5) for n in range(30)]
    root = tmp_path / "churn"
    finished(root, monkeypatch, monitor={**MONITOR, "features": [missing, empty, *steady]})
    rows = json.loads(page(root).specs)["monitoring"]["data"]["values"]
    assert [row["feature"] for row in rows][:4] == ["plan", "region", "f00", "f01"]
    assert rows[1]["psi"] is None
    assert len(rows) == 12


def test_a_killed_writer_s_partial_file_is_swept_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "docs/report.html"
    target.parent.mkdir()
    dead = target.with_name(".report.html.999999999.1.partial")  # no such process
    live = target.with_name(f".report.html.{os.getpid()}.7.partial")  # a writer at work
    for partial in (dead, live):
        partial.write_text("half a page")
    layout.atomic_write(target, "<html></html>")
    assert not dead.exists()
    assert live.exists()
