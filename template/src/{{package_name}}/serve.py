"""`serve`: a trained run behind HTTP (FastAPI on uvicorn), loaded once, answering requests.

POST /predict takes `{"rows": [...]}`, each row an object with the fields of the run's
schema (`service.Service` builds the request model from it and predicts); GET /health says it
is up; GET /metadata describes the run (schema, held-out metric, training date, version).

The request path is kept short, because the model itself takes a fraction of a millisecond
and any overhead would dominate (benchmarks/bench_serve.py measures it against `mlflow models
serve`): the endpoint is async and reads the body itself (no threadpool hop), pydantic parses
it straight from the JSON bytes, and the rows meet the fitted model as arrays, not as a frame.
A body past `serve.max_body_bytes` is refused with 413 before it is read: by its declared
length, or, when chunked, once the bytes received pass the limit. No body is ever logged.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from uvicorn.config import LOGGING_CONFIG

from .errors import ConfigError, ProjectError
from .runs import REPORT, SUMMARY
from .service import Service

if TYPE_CHECKING:
    from .config import ServeConfig

# What a worker process (serve.workers > 1) reads to load the same run: JSON {run, overrides}.
WORKER_ENV = f"{__package__.upper()}_SERVE"
MAX_PROBLEMS = 100  # listed in a 422; a batch of bad rows could otherwise list thousands
SHUTDOWN_SECONDS = 10  # in-flight requests get this long after SIGTERM / Ctrl-C


def version(run: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Which model answered: the run, its tracking run and the data it was trained on."""
    return {
        "run": run.name,
        "tracking_run_id": summary.get("tracking_run_id"),
        "data_fingerprint": summary.get("data_fingerprint"),
    }


def held_out_metric(run: Path) -> dict[str, Any] | None:
    """The primary metric on the test split with its interval, if `evaluate` ran (else None)."""
    try:
        report = json.loads((run / REPORT).read_text())
        primary = report["primary"]
        return {
            "name": report["primary_metric"],
            "split": report["split"],
            "value": primary["value"],
            "low": primary["low"],
            "high": primary["high"],
            "confidence": report["confidence"],
        }
    except (OSError, ValueError, KeyError, TypeError):  # not evaluated, or an older report
        return None


def metadata(service: Service) -> dict[str, Any]:
    """GET /metadata: the run's version, model, schema, held-out metric and training date."""
    trained = datetime.fromtimestamp((service.run / SUMMARY).stat().st_mtime, UTC)
    return {
        **version(service.run, service.summary),
        "model": service.config.model.name,
        "task": service.config.task,
        "trained_at": trained.isoformat(timespec="seconds"),
        "metric": held_out_metric(service.run),
        f"val_{service.config.primary_metric}": service.summary.get(
            f"val_{service.config.primary_metric}"
        ),
        **service.describe(),
    }


def problems(error: ValidationError) -> list[dict[str, Any]]:
    """A 422's list: each bad field with its row (the index in `rows`) and what is wrong, in
    words that name both; the values themselves are not echoed back."""
    listed = []
    for item in error.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]:
        loc = list(item["loc"])
        row = loc[1] if len(loc) > 1 and loc[0] == "rows" and isinstance(loc[1], int) else None
        field = str(loc[2]) if row is not None and len(loc) > 2 else None
        if field is None and row is None and len(loc) == 1:
            field = str(loc[0])  # a top-level key: rows (empty, not a list), cutoff
        where = [f"rows[{row}]"] * (row is not None) + [f"field '{field}'"] * (field is not None)
        message = f"{' '.join(where)}: {item['msg']}" if where else item["msg"]
        listed.append(
            {"loc": loc, "row": row, "field": field, "type": item["type"], "msg": message}
        )
    return listed


def inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its `$defs` written in place: OpenAPI reads `#/...` references from
    the root of its own document, where pydantic's definitions are not."""
    definitions = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return expand(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: expand(value) for key, value in node.items()}
        return [expand(value) for value in node] if isinstance(node, list) else node

    return expand(schema)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to pass `limit` bytes: from Content-Length
    before anything is read, else while the chunks arrive; never more than the limit in memory."""
    refusal = HTTPException(
        413,
        f"request body over {limit} bytes (serve.max_body_bytes): send fewer rows per request",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refusal
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise refusal
        chunks.append(chunk)
    return b"".join(chunks)


def make_app(service: Service, max_body_bytes: int) -> FastAPI:
    """The HTTP app over a loaded run: /predict, /health, /metadata (and FastAPI's /docs)."""
    about = metadata(service)
    model = version(service.run, service.summary)
    app = FastAPI(
        title=f"{__package__} {service.config.model.name}",
        version=service.run.name,
        description="Predictions of a trained run; see GET /metadata for its schema.",
    )
    body_schema = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline(service.request.model_json_schema())}
            },
        }
    }

    @app.post("/predict", openapi_extra=body_schema)
    async def predict(request: Request) -> JSONResponse:
        """Predictions for each row of `{"rows": [...]}`, with the model's version."""
        body = await read_body(request, max_body_bytes)
        try:
            answer = service.answer(body)
        except ValidationError as exc:
            return JSONResponse({"detail": problems(exc)}, 422)
        except ProjectError as exc:  # rows that parse but the run cannot take as a whole
            message = str(exc).replace(str(service.run), service.run.name)  # no server paths
            detail = {"loc": ["rows"], "row": None, "field": None, "type": "data", "msg": message}
            return JSONResponse({"detail": [detail]}, 422)
        return JSONResponse({**answer, "model": model})

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Up and holding the model (it is loaded before the port opens)."""
        return {"status": "ok"}

    @app.get("/metadata")
    async def describe() -> dict[str, Any]:
        """The run's version, model, request schema, held-out metric and training date."""
        return about

    return app


def limit_threads(threads: int) -> None:
    """Inference threads for this process (torch, and BLAS / OpenMP through threadpoolctl);
    0 leaves the libraries' defaults. One is fastest for a row at a time: more only adds
    hand-offs, and workers are the way to use more cores."""
    if threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(threads)
        threadpool_limits(threads)


def worker_app() -> FastAPI:
    """The app of one worker process (serve.workers > 1): the run named in WORKER_ENV."""
    settings = json.loads(os.environ[WORKER_ENV])
    service = Service(Path(settings["run"]), settings["overrides"])
    limit_threads(service.config.serve.threads)
    return make_app(service, service.config.serve.max_body_bytes)


def free_port() -> int:
    """A local port no one listens on now: bound to 0, read back, closed (for tests and the
    benchmark, which start `serve` on it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, opened here (not by uvicorn) so that a busy port or a bad address
    is a one-line ConfigError before anything starts."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise ConfigError(f"serve.host '{host}' is not an address or a known host name") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart past TIME_WAIT
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reasons = {
            errno.EADDRINUSE: "is in use (another server?); stop it, or pass another --port"
            " (0: any free port)",
            errno.EACCES: "is not open to this user (ports below 1024 need root); pass --port"
            " 1024 or above",
            errno.EADDRNOTAVAIL: "is not an address of this machine; pass --host 127.0.0.1",
        }
        reason = reasons.get(exc.errno or 0, f"cannot be bound: {exc.strerror}")
        raise ConfigError(f"serve: {host}:{port} {reason}") from None
    return sock


def is_loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def uvicorn_options(settings: ServeConfig) -> dict[str, Any]:
    """uvicorn's settings: its own messages at warning level, the access log (method, path,
    status; uvicorn never logs bodies) only when asked for, a bounded graceful shutdown."""
    logging = json.loads(json.dumps(LOGGING_CONFIG))  # a deep copy to adjust
    logging["loggers"]["uvicorn.error"]["level"] = "WARNING"
    logging["loggers"]["uvicorn.access"]["level"] = "INFO" if settings.access_log else "WARNING"
    return {
        "lifespan": "off",  # nothing to start: the model is loaded before the port opens
        "log_config": logging,
        "access_log": settings.access_log,
        "timeout_graceful_shutdown": SHUTDOWN_SECONDS,
    }


def serve(run: Path, overrides: Sequence[str] = ()) -> None:
    """Load the run (a bad or missing one fails here, before any port opens), bind, serve
    until SIGTERM or Ctrl-C, then let in-flight requests finish and return (exit 0)."""
    service = Service(run, overrides)
    settings = service.config.serve
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    if not is_loopback(sock):
        print(
            f"warning: serving on {host}:{port}, which is open to the network (no"
            " authentication, no TLS); --host 127.0.0.1 keeps it on this machine",
            file=sys.stderr,
            flush=True,
        )
    where = f"[{host}]" if ":" in host else host
    print(
        f"serving run {run} ({service.config.model.name}) on http://{where}:{port} with"
        f" {settings.workers} worker(s); Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn re-raises a caught SIGINT / SIGTERM after its graceful shutdown: handlers that
    # do nothing let it return instead, so a stop on request exits 0, not by the signal.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: None)
    options = uvicorn_options(settings)
    if settings.workers > 1:
        # uvicorn's supervisor binds the port again (checked free just now) for its workers,
        # which load the run themselves.
        sock.close()
        os.environ[WORKER_ENV] = json.dumps({"run": str(run), "overrides": list(overrides)})
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            **options,
        )
        return
    limit_threads(settings.threads)
    app = make_app(service, settings.max_body_bytes)
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
