"""Journaled changes: each change to the project ends committed whole or put back whole.

The files a change (a phase, an approval, a rejection) may touch are snapshotted to
.ml-flow/snapshots/<key>/ first; a `finished.json` marks it whole once it is verified and its
record written; then it is committed and the journal forgotten. The next run, under the OS lock,
starts with `recover`: it ends what a killed run left running, commits a finished change a kill
left uncommitted, and puts back an unfinished one, keeping whatever it overwrites under
.ml-flow/put-back/.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import adr, layout
from .changes import Snapshot, commit, uncommitted
from .project import end_leftovers


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


@dataclasses.dataclass
class Journal:
    """One change to the project that ends committed whole or put back whole, even if the
    process is killed (see the module docstring). `settled` marks it finished from the start
    (approve: its one record write is atomic, so every state it can leave is final)."""

    root: Path
    key: str  # the folder under .ml-flow/snapshots: a phase's number, or what the change is
    paths: list[str]  # what it may touch (snapshotted)
    commits: list[str]  # what it commits (the snapshotted paths git tracks, and new records)
    message: str
    say: Callable[[str], None]
    settled: bool = False
    snapshot: Snapshot = dataclasses.field(init=False)
    unsaved: set[str] = dataclasses.field(init=False)  # paths with changes git did not have
    outcome: str = ""

    @property
    def folder(self) -> Path:
        return layout.snapshots(self.root) / self.key

    def __enter__(self) -> Journal:
        self.unsaved = uncommitted(self.root, self.paths)
        self.snapshot = Snapshot.take(self.root, self.paths)
        self.snapshot.save(self.folder)
        if self.settled:
            self._finished()
        return self

    def include(self, path: Path) -> None:
        """A file the change will write that it did not know of at the start (a new record)."""
        name = relative(self.root, path)
        self.snapshot.include(self.folder, name)
        self.commits.append(name)

    def _keep_rewritten(self, paths: list[str]) -> None:
        """Copy aside what the change replaced in files that held uncommitted edits (a
        user's, made before the phase began): git has no copy of those."""
        old = {path: self.snapshot.before[path] for path in paths}
        kept = {path: content for path, content in old.items() if content is not None}
        if not kept:
            return
        keep = layout.put_back(self.root, self.key)
        for path, content in kept.items():
            (keep / path).parent.mkdir(parents=True, exist_ok=True)
            (keep / path).write_bytes(content)
        self.say(
            f"{_named(self.key).capitalize()} rewrote {', '.join(kept)}, which held changes not"
            f" committed; they are kept in {relative(self.root, keep)}/"
        )

    def _finished(self) -> None:
        marker = {"message": self.message, "commits": self.commits}
        layout.atomic_write(self.folder / layout.FINISHED, json.dumps(marker))

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            changed = self.snapshot.changed()
            self.commits = [path for path in self.commits if path in changed]  # not a user's
            self._keep_rewritten([path for path in changed if path in self.unsaved])
            self._finished()
            self.outcome = finish(self.root, self.folder)
        elif not self.settled:
            put_back(self.root, self.folder, self.snapshot, self.say)


def finish(root: Path, folder: Path) -> str:
    """Commit a finished change (its index written afresh first), then forget its journal."""
    marker = json.loads((folder / layout.FINISHED).read_text(encoding="utf-8"))
    adr.write_index(layout.adr_dir(root))
    outcome = commit(root, marker["commits"], marker["message"])
    forget(folder)
    return outcome


def forget(folder: Path) -> None:
    """Remove a journal: renamed away first, so a kill part-way cannot leave half of one."""
    gone = folder.with_name(f".gone-{folder.name}-{time.time_ns()}")
    folder.rename(gone)
    shutil.rmtree(gone, ignore_errors=True)


def put_back(root: Path, folder: Path, snapshot: Snapshot, say: Callable[[str], None]) -> None:
    """Undo an unfinished change, keeping every file it replaces or removes, then forget it."""
    keep = layout.put_back(root, folder.name)
    restored = snapshot.restore(keep=keep)
    shown = [path for path in restored if not path.startswith(layout.STATE_DIR)]
    if shown:
        kept = f"; what they held is kept in {relative(root, keep)}/" if keep.exists() else ""
        say(f"Put back what {_named(folder.name)} had changed: {', '.join(shown)}{kept}")
    forget(folder)


def _named(key: str) -> str:
    return f"phase {key}" if key.isdigit() else f"`ml-phases {key}`"


def recover(root: Path, say: Callable[[str], None]) -> None:
    """Before anything else, under the lock: end what a killed run left running, commit the
    changes it finished, put back the ones it did not."""
    ended = end_leftovers(root)
    if ended:
        say(f"Ended {len(ended)} process(es) a killed run left running: {ended}")
    for folder in sorted(layout.snapshots(root).glob("*")):
        if folder.name.startswith(".gone-"):  # a journal that was being removed
            shutil.rmtree(folder, ignore_errors=True)
        elif (folder / layout.FINISHED).is_file():
            done = finish(root, folder)
            say(f"A cut-off run had finished {_named(folder.name)}: {done}")
        elif (snapshot := Snapshot.load(root, folder)) is None:
            forget(folder)  # cut off while the snapshot was written: nothing changed yet
        else:
            put_back(root, folder, snapshot, say)
