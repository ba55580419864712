"""One small interface over experiment tracking: MLflow, W&B (offline) or nothing.

MLflow defaults to an embedded local store under output_dir (no server to start); set
MLFLOW_TRACKING_URI (or tracking.uri) to log to a server, which must answer before a run starts.
Tracking libraries are imported only when a run starts, so the CLI stays quick. Metrics arrive
in batches (once per epoch).
"""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import Config
from .errors import TrackingError


class Tracker:
    """The `none` backend, and the interface the others implement."""

    location = "not tracked"
    run_id: str | None = None

    def log_params(self, params: dict[str, Any]) -> None:
        """Flat parameters (dotted keys)."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """A batch of metrics at one step."""

    def log_series(self, name: str, values: list[float], steps: list[int]) -> None:
        """One metric at many steps (e.g. an epoch's interval losses), in one call if possible."""
        for value, step in zip(values, steps, strict=True):
            self.log_metrics({name: value}, step)

    def log_artifact(self, path: Path) -> None:
        """A file (config, checkpoint, plot)."""

    def set_tags(self, tags: dict[str, str]) -> None:
        """Searchable tags: git commit, data fingerprint, model."""

    def log_model(self, run_dir: Path) -> str | None:
        """The trained run as a model the backend's own tools serve; its URI, None if none."""
        return None

    def finish(self, status: str = "FINISHED") -> None:
        """Close the run: FINISHED, FAILED or KILLED."""


# An MLflow server answers /health in milliseconds; MLflow's own client retries a refused
# connection for about four minutes before it gives up.
PROBE_SECONDS = 5.0


def masked(text: str, uri: str) -> str:
    """Text fit to print: the password of uri (user:password@host) in it becomes ***."""
    password = urlsplit(uri).password
    return text.replace(f":{password}@", ":***@") if password else text


def unreachable(uri: str) -> str | None:
    """Why nothing answers at an http(s) tracking URI within PROBE_SECONDS, or None if it does."""
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]  # credentials are MLflow's business, not the probe's
    health = parts._replace(netloc=host, path=parts.path.rstrip("/") + "/health").geturl()
    try:
        urllib.request.urlopen(health, timeout=PROBE_SECONDS).close()
    except urllib.error.HTTPError:
        return None  # it answered (perhaps 401 or 404); MLflow reports the rest
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):
            return None  # it answered; TLS settings (MLFLOW_TRACKING_INSECURE_TLS...) are MLflow's
        return reason(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        return reason(exc)
    return None


def reason(exc: BaseException | str) -> str:
    """An OS or HTTP failure in a few words: 'connection refused', 'no answer in 5 s'."""
    if isinstance(exc, TimeoutError):
        return f"no answer in {PROBE_SECONDS:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def mlflow_uri(config: Config) -> str:
    """Where MLflow logs: MLFLOW_TRACKING_URI, else tracking.uri, else the embedded store under
    output_dir. A server is probed first, so an unreachable one fails fast."""
    local_store = (config.output_dir / "mlruns").resolve()
    source = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "tracking.uri"
    uri = os.environ.get("MLFLOW_TRACKING_URI") or config.tracking.uri
    if not uri:
        # MLflow 3.17+ asks for an explicit opt-in to its local file store.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return local_store.as_uri()
    why = unreachable(uri) if urlsplit(uri).scheme in ("http", "https") else None
    if why:
        raise TrackingError(
            f"MLflow server {masked(uri, uri)} (from {source}) is not reachable: {why};"
            " start it (README: A shared tracking server), point MLFLOW_TRACKING_URI or"
            f" tracking.uri at one that runs, or unset both to log to {local_store}"
        )
    return uri


def check_tracking(config: Config) -> None:
    """Fail before any run folder is made if the configured MLflow server does not answer, or
    if the model `train` is to log there cannot be (MLflow's pyfunc models take pandas frames,
    and mlflow-skinny does not bring pandas)."""
    if config.tracking.backend == "mlflow":
        mlflow_uri(config)
        if config.tracking.log_model:
            try:
                import pandas  # noqa: F401
            except ImportError:
                raise TrackingError(
                    "tracking.log_model needs pandas for the MLflow model: pip install pandas,"
                    " or set tracking.log_model=false"
                ) from None


class MlflowTracker(Tracker):
    def __init__(self, config: Config, run_name: str, run_id: str | None = None) -> None:
        uri = mlflow_uri(config)
        # Against a server MLflow prints "View run ..." lines on stdout, which would break
        # `--json`; the summary says where the run went.
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise TrackingError(
                "tracking.backend=mlflow needs mlflow-skinny: pip install mlflow-skinny,"
                " or set tracking.backend=none"
            ) from None
        self.client = MlflowClient(tracking_uri=uri)
        self.logs_model = config.tracking.log_model
        try:
            if run_id is not None:  # log evaluation into the training run
                self.run_id = self.client.get_run(run_id).info.run_id
            else:
                experiment = self.client.get_experiment_by_name(config.tracking.experiment)
                experiment_id = (
                    experiment.experiment_id
                    if experiment
                    else self.client.create_experiment(config.tracking.experiment)
                )
                self.run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
        except Exception as exc:  # any store or network failure, described in one line
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TrackingError(masked(f"MLflow store {uri} is not usable: {why}", uri)) from None
        self.location = masked(f"MLflow run {self.run_id} in {uri}", uri)

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(key, str(value)[:6000]) for key, value in params.items()]
        for start in range(0, len(items), 100):  # MLflow's batch limit for params
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self._log_points([(key, value, step) for key, value in metrics.items()])

    def log_series(self, name: str, values: list[float], steps: list[int]) -> None:
        self._log_points([(name, v, s) for v, s in zip(values, steps, strict=True)])

    def _log_points(self, points: list[tuple[str, float, int]]) -> None:
        """(name, value, step) points in as few calls as MLflow's batch limit allows."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(name, float(value), now, step) for name, value, step in points]
        for start in range(0, len(items), 1000):  # MLflow's batch limit for metrics
            self.client.log_batch(self.run_id, metrics=items[start : start + 1000])

    def log_artifact(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))

    def set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def log_model(self, run_dir: Path) -> str | None:
        if not self.logs_model:
            return None
        from .mlmodel import log_model

        return log_model(self.client, self.run_id, run_dir)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)


class WandbTracker(Tracker):
    def __init__(
        self, config: Config, run_name: str, run_dir: Path, run_id: str | None = None
    ) -> None:
        try:
            import wandb
        except ImportError:
            raise TrackingError(
                "tracking.backend=wandb needs the wandb extra: pip install -e '.[wandb]'"
            ) from None
        self.wandb = wandb
        mode = os.environ.get("WANDB_MODE", "offline")  # offline unless the user opts in
        self.run = wandb.init(
            project=config.tracking.experiment,
            name=run_name,
            dir=str(run_dir),
            mode=mode,
            id=run_id,
            resume="allow" if run_id else None,
        )
        self.run_id = self.run.id
        self.location = f"W&B run {self.run.id} ({mode}) in {run_dir}"

    def log_params(self, params: dict[str, Any]) -> None:
        self.run.config.update(params, allow_val_change=True)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_artifact(self, path: Path) -> None:
        self.run.save(str(path), base_path=str(path.parent), policy="now")

    def set_tags(self, tags: dict[str, str]) -> None:
        self.run.tags = tuple(f"{k}:{v}" for k, v in tags.items())

    def finish(self, status: str = "FINISHED") -> None:
        self.run.finish(exit_code=0 if status == "FINISHED" else 1)


def open_tracker(
    config: Config, run_name: str, run_dir: Path, run_id: str | None = None
) -> Tracker:
    """The tracker the config asks for; with run_id, the existing run is continued."""
    if config.tracking.backend == "mlflow":
        return MlflowTracker(config, run_name, run_id)
    if config.tracking.backend == "wandb":
        return WandbTracker(config, run_name, run_dir, run_id)
    return Tracker()


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}, the form trackers take parameters in."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def git_commit(cwd: Path | None = None) -> str:
    """The current commit (with '-dirty' for uncommitted changes), or 'unknown' outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
