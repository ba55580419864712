"""The generated README's MLflow UI: installed as the `ui` extra, started by `make ui`, it serves
the embedded store that `train` writes. Slow: full mlflow is a large install."""

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
from pathlib import Path

import pytest
from conftest import render

pytestmark = pytest.mark.slow


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


def test_make_ui_serves_the_runs_that_train_logged(tmp_path: Path) -> None:
    project = render(tmp_path / "project", tracking="mlflow")
    readme = (project / "README.md").read_text()
    install = "python3 scripts/setup_env.py --extras dev,ui"
    assert install in readme
    assert "make ui" in readme
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # uv
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_ALLOW_FILE_STORE", None)  # `make ui` must give what the store needs

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    installed = run("bash", "-c", install)  # the README's command, as written
    assert installed.returncode == 0, installed.stdout + installed.stderr
    trained = run(".venv/bin/my_model", "train", "model.name=linear")
    assert trained.returncode == 0, trained.stdout + trained.stderr

    port = free_port()
    server = subprocess.Popen(
        ["make", "ui", f"UI_PORT={port}"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: make, mlflow and the web workers
    )
    try:
        deadline = time.monotonic() + 120
        status, body = 0, ""
        while time.monotonic() < deadline and server.poll() is None:
            status, body = get(f"http://127.0.0.1:{port}/health")
            if status == 200:
                break
            time.sleep(1)
        assert status == 200, f"no /health answer; server exited {server.poll()}"
        assert body.strip() == "OK"
        search = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=50"
        status, body = get(search)
        assert status == 200
        names = [experiment["name"] for experiment in json.loads(body)["experiments"]]
        assert "my_model" in names, names  # the experiment `train` logged to
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
