"""The tools an agent can call, as the Messages API sees them and as they run here.

Every call goes through the agent's Sandbox. Anything wrong with a call (a bad argument, a
refused path, a failing command) comes back to the model as a tool error it can act on; it never
ends the run. Output is clipped and secrets are masked before the model sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import report
from .sandbox import Refused, Sandbox, clip, redact

MAX_WRITE = 200_000  # characters in one written file
MAX_LIST = 400  # entries listed
MAX_MATCHES = 200  # lines a search returns
COMMAND_TIMEOUT = 600.0  # seconds for one command (less when the phase has less time left)
SUBMIT = "submit_report"


def definitions(package: str) -> list[dict[str, Any]]:
    """The tool definitions sent with every request (stable: part of the cached prefix)."""
    path = {"type": "string", "description": "relative to the project root"}
    return [
        {
            "name": "list_files",
            "description": "List the files under a folder of the project (recursively).",
            "input_schema": {"type": "object", "properties": {"path": path}, "required": []},
        },
        {
            "name": "read_file",
            "description": "Read a text file, with line numbers; long files in pages.",
            "input_schema": {
                "type": "object",
                "properties": {
                    "path": path,
                    "start": {"type": "integer", "minimum": 1, "description": "first line"},
                    "lines": {"type": "integer", "minimum": 1, "maximum": 2000},
                },
                "required": ["path"],
            },
        },
        {
            "name": "search_files",
            "description": "Find the lines of the project's text files that hold a text"
            " (case-insensitive; plain text, not a regular expression).",
            "input_schema": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "path": path},
                "required": ["text"],
            },
        },
        {
            "name": "write_file",
            "description": "Write a whole file; only the files given to you in this phase.",
            "input_schema": {
                "type": "object",
                "properties": {"path": path, "content": {"type": "string"}},
                "required": ["path", "content"],
            },
        },
        {
            "name": "run_command",
            "description": (
                f"Run pytest, ruff (check, or format --check/--diff) or the project CLI"
                f" ({package} <command> ...) in the project folder, without a shell. pytest"
                f" takes -q -v -x -s -k -m --tb --maxfail --durations and test paths; ruff takes"
                f" --select --ignore --statistics --output-format and paths."
            ),
            "input_schema": {
                "type": "object",
                "properties": {
                    "program": {"type": "string", "enum": ["pytest", "ruff", package]},
                    "args": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["program", "args"],
            },
        },
        {
            "name": SUBMIT,
            "description": "Submit your final report; it becomes the phase's ADR. Call it once.",
            "input_schema": report.schema(),
        },
    ]


@dataclass
class Toolbox:
    """One agent's tools over its sandbox; `seconds_left` bounds a command's time."""

    sandbox: Sandbox
    seconds_left: Callable[[], float]  # what is left of the phase's wall-clock limit
    written: set[str] = field(default_factory=set)

    def call(self, name: str, arguments: Any) -> tuple[str, bool]:
        """The tool's text result and whether it is an error; never raises for bad input."""
        handlers: dict[str, Callable[..., str]] = {
            "list_files": self._list_files,
            "read_file": self._read_file,
            "search_files": self._search_files,
            "write_file": self._write_file,
            "run_command": self._run_command,
        }
        handler = handlers.get(name) if isinstance(name, str) else None
        if handler is None:
            return f"there is no tool '{name}'", True
        if not isinstance(arguments, dict):
            return "the tool input must be a JSON object", True
        try:
            text, error = handler(**arguments), False
        except Refused as exc:
            text, error = f"refused: {exc}", True
        except (TypeError, ValueError, OverflowError) as exc:  # missing or mistyped arguments
            text, error = f"bad arguments for {name}: {exc}", True
        except Exception as exc:  # an OS error, or anything else: the model hears of it
            text, error = f"{name} failed: {type(exc).__name__}: {exc}", True
        return clip(redact(text)), error  # masked before clipped: no half secret survives

    def _list_files(self, path: str = ".") -> str:
        folder, relative = self.sandbox.resolve(path)
        if not folder.is_dir():
            raise Refused(f"'{path}' is not a folder")
        root = self.sandbox.root
        names = [p.relative_to(root).as_posix() for p in self.sandbox.files(folder)]
        shown = "\n".join(names[:MAX_LIST])
        more = f"\n[{len(names) - MAX_LIST} more]" if len(names) > MAX_LIST else ""
        return (shown + more) or f"'{relative or '.'}' holds no files"

    def _read_file(self, path: str, start: int = 1, lines: int = 400) -> str:
        target, _ = self.sandbox.resolve(path)
        if not target.is_file():
            raise Refused(f"'{path}' is not a file")
        text = target.read_text(encoding="utf-8")
        rows = text.splitlines()
        first = max(int(start), 1)
        page = rows[first - 1 : first - 1 + max(min(int(lines), 2000), 1)]
        body = "\n".join(f"{first + i:>5}  {row}" for i, row in enumerate(page))
        end = first + len(page) - 1
        return f"{path}: lines {first}-{end} of {len(rows)}\n{body}"

    def _search_files(self, text: str, path: str = ".") -> str:
        """Lines holding the text, case-insensitively (plain text: no pattern can run away)."""
        if not isinstance(text, str) or not text or len(text) > 200:
            raise Refused("text must be 1 to 200 characters")
        wanted = text.lower()
        folder, _ = self.sandbox.resolve(path)
        files = [folder] if folder.is_file() else self.sandbox.files(folder)
        matches: list[str] = []
        for file in files:
            try:
                content = file.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # binary or unreadable: not searched
            relative = file.relative_to(self.sandbox.root).as_posix()
            for number, line in enumerate(content.splitlines(), 1):
                if wanted in line.lower():
                    matches.append(f"{relative}:{number}: {line.strip()[:300]}")
                    if len(matches) >= MAX_MATCHES:
                        return "\n".join(matches) + f"\n[stopped at {MAX_MATCHES} matches]"
        return "\n".join(matches) or "no matches"

    def _write_file(self, path: str, content: str) -> str:
        if not isinstance(content, str) or len(content) > MAX_WRITE:
            raise Refused(f"content must be a string of at most {MAX_WRITE} characters")
        target, relative = self.sandbox.resolve(path, write=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        self.written.add(relative)
        return f"wrote {relative} ({len(content.splitlines())} lines)"

    def _run_command(self, program: str, args: list[str]) -> str:
        seconds = min(COMMAND_TIMEOUT, self.seconds_left())
        if seconds <= 1:
            raise Refused("the phase's time limit leaves no time for a command")
        return self.sandbox.command(program, args, timeout=seconds)
