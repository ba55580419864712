"""The generated project's MLflow beyond its embedded store: the web UI (`make ui`, the `ui`
extra) on the runs `train` logged, and a shared tracking server (SQL backend, artifacts served by
the server) that `train` and `evaluate` log to. Slow: full mlflow is a large install, made once
for the module."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import render
from copier_task import write_engine_wheel
from ml_phases.layout import ENGINE_WHEELS, REPORT

pytestmark = pytest.mark.slow

INSTALL = "python3 scripts/setup_env.py --extras dev,ui"  # the README's command, as written
# Read back with the project's own MLflow client: what a teammate's machine would see.
READ_BACK = """
import json, sys
from mlflow import MlflowClient

uri, run_id, folder = sys.argv[1:]
client = MlflowClient(tracking_uri=uri)
run = client.get_run(run_id)
print(json.dumps({
    "status": run.info.status,
    "experiment": client.get_experiment(run.info.experiment_id).name,
    "artifact_uri": run.info.artifact_uri,
    "params": run.data.params,
    "metrics": run.data.metrics,
    "train_loss_steps": [point.step for point in client.get_metric_history(run_id, "train_loss")],
    "artifacts": sorted(item.path for item in client.list_artifacts(run_id)),
    "config": client.download_artifacts(run_id, "config.yaml", folder),
}))
"""


@dataclass(frozen=True)
class Project:
    """A rendered tracking=mlflow project whose .venv has full mlflow (the `ui` extra)."""

    path: Path
    env: dict[str, str]

    def run(self, *command: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            cwd=self.path,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = render(tmp_path_factory.mktemp("mlflow") / "project", tracking="mlflow")
    assert INSTALL in (path / "README.md").read_text()
    write_engine_wheel(path / ENGINE_WHEELS)  # as the Copier task does: `make report` needs it
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # uv
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_ALLOW_FILE_STORE", None)  # `make ui` must give what the store needs
    project = Project(path, env)
    installed = project.run("bash", "-c", INSTALL)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


@contextmanager
def serving(
    command: list[str | Path], project: Project, port: int, log: Path, **env: str
) -> Iterator[float]:
    """Start a server in its own process group and yield the seconds until /health answered;
    the whole group (server, web and job workers) is stopped afterwards, even on failure."""
    with log.open("w") as out:  # a file, not a pipe nobody reads, which could fill and block it
        server = subprocess.Popen(
            [str(part) for part in command],
            cwd=project.path,
            env={**project.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        started = time.monotonic()
        status, body = 0, ""
        while time.monotonic() < started + 120 and server.poll() is None:
            status, body = get(f"http://127.0.0.1:{port}/health")
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, f"no /health answer; exit {server.poll()}; {log.read_text()[-2000:]}"
        assert body.strip() == "OK"
        yield time.monotonic() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=15)
        with suppress(ProcessLookupError):  # whatever outlived the SIGTERM
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def test_make_report_writes_the_page_and_serves_the_runs_that_train_logged(
    project: Project, tmp_path: Path
) -> None:
    readme = (project.path / "README.md").read_text()
    assert "make ui" in readme
    assert "make report" in readme
    trained = project.run(".venv/bin/my_model", "train", "model.name=linear")
    assert trained.returncode == 0, trained.stdout + trained.stderr

    port = free_port()
    log = tmp_path / "report.log"
    command = ["make", "report", f"UI_PORT={port}"]
    with serving(command, project, port, log, BROWSER="true"):  # a browser that does nothing
        # No phase has run: the page says so, and the MLflow UI comes up after it.
        assert "0 of 12 phases done" in (project.path / REPORT).read_text()
        assert f"Report: {(project.path / REPORT).resolve().as_uri()}" in log.read_text()
        search = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=50"
        status, body = get(search)
        assert status == 200
        names = [experiment["name"] for experiment in json.loads(body)["experiments"]]
        assert "my_model" in names, names  # the experiment `train` logged to


def test_train_and_evaluate_log_to_a_shared_server(project: Project, tmp_path: Path) -> None:
    readme = (project.path / "README.md").read_text()
    assert "mlflow server" in readme
    assert "--artifacts-destination" in readme
    port, artifacts, outputs = free_port(), tmp_path / "artifacts", tmp_path / "outputs"
    uri = f"http://127.0.0.1:{port}"
    server = [
        *(".venv/bin/mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"),
        *("--artifacts-destination", artifacts, "-w", "1"),
    ]

    def my_model(*args: str | Path) -> subprocess.CompletedProcess[str]:
        """The project's CLI as a teammate runs it against the shared server."""
        return project.run(
            ".venv/bin/my_model", *args, "--json", f"output_dir={outputs}", MLFLOW_TRACKING_URI=uri
        )

    # Job workers (GenAI evaluation) off: they take CPU that this test's 2 cores need.
    with serving(
        server, project, port, tmp_path / "server.log", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"
    ) as ready:
        print(f"mlflow server -w 1 answered /health after {ready:.1f} s")
        started = time.monotonic()
        trained = my_model("train", "model.name=mlp", "train.epochs=2", "train.min_steps=0")
        assert trained.returncode == 0, trained.stdout + trained.stderr
        summary = json.loads(trained.stdout)  # only JSON on stdout: no "View run" lines
        run_dir = Path(summary["run_dir"])
        evaluated = my_model("evaluate", "--run", run_dir, "--bootstrap", "50")
        assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
        report = json.loads(evaluated.stdout)
        print(f"train + evaluate against the server: {time.monotonic() - started:.1f} s")
        downloaded = tmp_path / "downloaded"
        downloaded.mkdir()
        read = project.run(
            ".venv/bin/python", "-c", READ_BACK, uri, summary["tracking_run_id"], downloaded
        )
        assert read.returncode == 0, read.stderr
        run = json.loads(read.stdout)

    assert summary["tracking"] == f"MLflow run {summary['tracking_run_id']} in {uri}"
    assert run["status"] == "FINISHED"
    assert run["experiment"] == "my_model"
    assert run["params"]["model.name"] == "mlp"
    assert run["params"]["train.epochs"] == "2"
    assert run["train_loss_steps"] == list(range(1, summary["epochs_run"] + 1))
    for name, values in report["metrics"].items():
        assert run["metrics"][f"test_{name}"] == pytest.approx(values["value"])
    # Artifacts went through the server into its --artifacts-destination, and come back intact.
    assert run["artifact_uri"].startswith("mlflow-artifacts:")
    assert {"config.yaml", "run.json", "metrics.json"} <= set(run["artifacts"])
    assert Path(run["config"]).read_bytes() == (run_dir / "config.yaml").read_bytes()
    assert list(artifacts.rglob("metrics.json"))

    # The server is stopped, so its port is closed: train fails fast, before any run folder.
    runs_before = sorted((outputs / "runs").iterdir())
    started = time.monotonic()
    refused = my_model("train")
    print(f"unreachable server: exit {refused.returncode} in {time.monotonic() - started:.1f} s")
    assert refused.returncode == 11, refused.stdout + refused.stderr
    assert f"MLflow server {uri} (from MLFLOW_TRACKING_URI) is not reachable" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert sorted((outputs / "runs").iterdir()) == runs_before
