"""A local fake of the Anthropic Messages API: real HTTP on 127.0.0.1, scripted per test.

The real SDK talks to it through base_url. Each agent's replies are a script keyed by a text
that appears in that agent's request (its focus); which reply comes next is the number of
assistant turns already in the request, so concurrent agents need no shared order. Faults
(status codes, bad JSON, a hang) can be queued ahead of the scripted replies. Every request is
recorded with its headers, for the tests to inspect.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"input": 100, "output": 50, "cache": 1000}  # tokens each reply reports


def tool_use(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": arguments}


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def report(chosen: str = "a", **fields: Any) -> dict[str, Any]:
    """A submit_report call with a valid report choosing `chosen`."""
    content = {
        "title": f"Choose {chosen}",
        "context": "Read the project files; measured nothing new.",
        "drivers": ["keep it simple"],
        "options": [{"name": chosen, "pros": ["it works"]}, {"name": "other", "cons": ["slower"]}],
        "chosen": chosen,
        "because": f"{chosen} is enough.",
    }
    return tool_use("submit_report", **(content | fields))


@dataclass
class Fault:
    """A reply other than a message: a status with a body and headers, or a hang."""

    status: int = 500
    body: str = '{"type":"error","error":{"type":"api_error","message":"boom"}}'
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (longer than the client's timeout)


@dataclass
class FakeAPI:
    scripts: dict[str, list[Any]] = field(default_factory=dict)  # replies (block lists) or Faults
    faults: list[Fault] = field(default_factory=list)
    latency: float = 0.0
    together: int = 1  # hold each request until this many are in flight (5 s at most)
    most_in_flight: int = 0  # the most requests the server held at once
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _seen_prefixes: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def reply(self, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        key = self._agent(body)
        turn = sum(message["role"] == "assistant" for message in body["messages"])
        script = self.scripts[key]
        blocks = script[min(turn, len(script) - 1)]
        if isinstance(blocks, Fault):  # this agent's reply at this turn is a fault
            fault = blocks
        if fault is not None:
            time.sleep(fault.hang)  # outside the lock: other agents' replies go on meanwhile
            return fault.status, fault.headers, fault.body
        content = [
            {**block, "id": f"toolu_{key[:8].replace(' ', '_')}_{turn}_{index}"}
            if block["type"] == "tool_use"
            else block
            for index, block in enumerate(blocks)
        ]
        uses_tools = any(block["type"] == "tool_use" for block in content)
        message = {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "tool_use" if uses_tools else "end_turn",
            "stop_sequence": None,
            "usage": self._usage(body),
        }
        return 200, {}, json.dumps(message)

    def _agent(self, body: dict[str, Any]) -> str:
        first = json.dumps(body["messages"][0])
        for key in self.scripts:
            if key in first:
                return key
        raise KeyError(f"no script matches the request: {first[:200]}")

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Cache writes for a prefix seen first, cache reads after: as the real API does."""
        prefix = hashlib.sha256(json.dumps([body.get("tools"), body.get("system")]).encode())
        key = prefix.hexdigest()
        cached = "cache_control" in json.dumps(body.get("system"))
        with self._lock:
            seen = key in self._seen_prefixes
            self._seen_prefixes.add(key)
        return {
            "input_tokens": USAGE["input"],
            "output_tokens": USAGE["output"],
            "cache_creation_input_tokens": USAGE["cache"] if cached and not seen else 0,
            "cache_read_input_tokens": USAGE["cache"] if cached and seen else 0,
        }


def handler_for(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(size))
            with api._lock:
                api.requests.append({"path": self.path, "headers": dict(self.headers), **body})
            with api._arrived:  # concurrency shows as requests held at the same time
                api._in_flight += 1
                api.most_in_flight = max(api.most_in_flight, api._in_flight)
                api._arrived.notify_all()
                api._arrived.wait_for(lambda: api._in_flight >= api.together, timeout=5)
            time.sleep(api.latency)
            status, headers, payload = api.reply(body)
            with api._arrived:
                api._in_flight -= 1
            data = payload.encode()
            try:
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(api: FakeAPI) -> Iterator[FakeAPI]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(api))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def focus_key(focus: str) -> str:
    """The text that picks an agent's script: its focus line in the first user message."""
    return f"phase: {focus}."


def phase_scripts(spec: Any, package: str) -> dict[str, list[list[dict[str, Any]]]]:
    """A well-behaved script for every agent of a phase: writers write each of their files,
    then everyone submits a valid report (phase 4's options named after the candidates)."""
    scripts = {}
    for agent in spec.agents:
        writes = [
            [
                tool_use(
                    "write_file", path=path.format(pkg=package), content=f'"""By {agent.role}."""\n'
                )
            ]
            for path in agent.owns
        ]
        if spec.number == 4:
            options = [{"name": name} for name in ("baseline", "sota", "pragmatic")]
            final = report("pragmatic", options=options)
        else:
            final = report("a")
        scripts[focus_key(agent.focus)] = [*writes, [final]]
    return scripts
