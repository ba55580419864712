"""docs/report.html: one static page that shows a project's design record and its evidence.

The twelve phases as a timeline, the bake-off, the held-out metrics against the baseline, the
serving latency and drift thresholds, the plots, risks and review findings; every figure links
to the ADR it comes from. Jinja2 writes the page; the charts are Vega-Lite specs that vega-embed
draws in the browser from copies inlined into the page (vendor/), so it opens with no network.

`ml-phases report` writes it, and `ml-phases run`, `approve` and `reject` refresh it after every
change they make (the Copier task runs them, so a new project has it too).
"""

from __future__ import annotations

import datetime as dt
import re
import webbrowser
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path

from .. import layout
from ..phases import FIXES_AND_VERIFICATION
from . import charts, sections
from .evidence import Evidence, gather

HERE = Path(__file__).resolve().parent
VENDOR = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")  # in load order
SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


@cache
def _scripts() -> tuple[str, ...]:
    """The chart libraries, ready to inline: no source-map comments (the maps are not shipped)
    and no `</script` that would end the element early."""
    texts = ((HERE / "vendor" / name).read_text(encoding="utf-8") for name in VENDOR)
    return tuple(SOURCE_MAP.sub("", text).replace("</script", "<\\/script") for text in texts)


@cache
def _template():  # jinja2 is imported on first use: `ml-phases status` does without it
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template("page.html.jinja")


def _version() -> str:
    try:
        return metadata.version("ml-phases")
    except metadata.PackageNotFoundError:
        return "source"


def render(evidence: Evidence, written: str | None = None) -> str:
    """The page for this evidence, as HTML text."""
    built = sections.build(evidence)
    return _template().render(
        evidence=evidence,
        headline=sections.headline(evidence),
        sections=built,
        specs={section.key: charts.finite(section.chart) for section in built if section.chart},
        plots_source=evidence.sources.get(FIXES_AND_VERIFICATION.number),
        scripts=_scripts(),
        written=written or dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        version=_version(),
    )


def write(root: Path) -> Path:
    """Write docs/report.html for the project at `root` (atomically: a reader never sees half a
    page); a StateError or ToolError when its state or answers cannot be read."""
    return layout.atomic_write(layout.report_file(root), render(gather(root)))


def refresh(root: Path, say: Callable[[str], None]) -> None:
    """Rewrite the page after a change; it only shows what the records and facts hold, so a
    failure is reported and the change it follows stands."""
    try:
        write(root)
    except Exception as exc:  # the page must never undo a finished phase
        say(f"report: {layout.REPORT} was not refreshed ({type(exc).__name__}: {exc})")


def open_in_browser(uri: str) -> bool:
    """Open the page in the user's browser; False where there is none (a server, CI)."""
    return webbrowser.open(uri)
