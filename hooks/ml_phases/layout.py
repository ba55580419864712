"""Where the engine keeps things in a generated project, each path named once here, and the one
way it writes a file: atomically.

In the project: docs/adr/ (the records and their README.md index), docs/report.html (the page
that shows them with the measured figures; the project's git ignores it), .phase0/capsules/,
and src/<pkg>/catalogue.py (the tasks, metrics and models the project offers).
The engine's own folder, .ml-flow/ (the project's git ignores it):

    state.json, facts.json   which phases are done; what they left for later ones (state.py)
    run.lock                 held by the run working on the project (state.py)
    snapshots/<key>/         a change in progress, its manifest.json and, once whole,
                             finished.json; the key is a phase's number or a command (journal.py)
    put-back/<time>-<key>/   what a put-back replaced (journal.py, the Claude backend)
    history/                 the records a rejection replaced (engine.py)
    transcripts/, reports/, usage.jsonl
                             the Claude agents' conversations, finished reports and spending
    smoke/                   the offline engineers' short training runs
    engine/                  the engine's wheel, committed with the project (copier_task.py)

This module imports only the standard library: copier_task.py, run by Copier's interpreter,
reads it too.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import threading
from pathlib import Path

STATE_DIR = ".ml-flow"
ADR_DIR = "docs/adr"
ADR_INDEX = f"{ADR_DIR}/README.md"
REPORT = "docs/report.html"
CAPSULES = ".phase0/capsules"
SMOKE = f"{STATE_DIR}/smoke"  # relative: the project's CLI is given it as its output_dir
ENGINE_WHEELS = f"{STATE_DIR}/engine"
MANIFEST = "manifest.json"  # a snapshot's list of files, written last: the snapshot is whole
FINISHED = "finished.json"  # a change's commit message and paths, once the change is whole


def adr_dir(root: Path) -> Path:
    return root / ADR_DIR


def report_file(root: Path) -> Path:
    return root / REPORT


def capsule_file(root: Path, slug: str) -> Path:
    return root / CAPSULES / slug / "capsule.yaml"


def catalogue_file(root: Path, package: str) -> Path:
    return root / "src" / package / "catalogue.py"


def state_file(root: Path) -> Path:
    return root / STATE_DIR / "state.json"


def facts_file(root: Path) -> Path:
    return root / STATE_DIR / "facts.json"


def lock_file(root: Path) -> Path:
    return root / STATE_DIR / "run.lock"


def snapshots(root: Path) -> Path:
    return root / STATE_DIR / "snapshots"


def put_back(root: Path, key: str) -> Path:
    """Where a put-back keeps what it replaced: a new folder each time, named by when and by
    the change (a phase's number, or the command)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return root / STATE_DIR / "put-back" / f"{stamp}-{key}"


def history(root: Path) -> Path:
    return root / STATE_DIR / "history"


def transcript(root: Path, number: int, name: str) -> Path:
    return root / STATE_DIR / "transcripts" / f"phase-{number:02d}" / name


def agent_reports(root: Path, number: int) -> Path:
    """The reports a phase's agents finished, kept until the phase is (for a resumed attempt)."""
    return root / STATE_DIR / "reports" / f"phase-{number:02d}"


def usage_log(root: Path) -> Path:
    return root / STATE_DIR / "usage.jsonl"


def atomic_write(path: Path, text: str) -> Path:
    """Write then rename, so a reader never sees half a file.

    The partial file's name is this process's own, so two writers of one path never share one
    (a second `ml-phases report` beside a run), it is made with the user's umask, and it is
    removed if the rename fails; one that a killed writer left is removed by the next writer.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def _sweep(path: Path) -> None:
    """Remove the partial files of `path` whose writer is dead (killed mid-write)."""
    for partial in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
        pid = partial.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            partial.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
