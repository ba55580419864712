"""Phase 9 benchmarks the project's server against the answers' latency budget, with a verdict
that can fail; phase 12 plans monitoring from the drift the validation split shows (the noise
floor), and the model card carries both."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import BENCH_SERVE, MONITOR, canned_project, drift, latency
from ml_phases import adr, engine


def canned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **answers: Any) -> dict[str, Any]:
    """The canned churn project with some answers changed, approved at the gate."""
    project = canned_project(tmp_path / "churn", monkeypatch)
    path = project["root"] / ".copier-answers.yml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **answers}))
    engine.run(project["root"])
    engine.approve(project["root"])
    return project


def record(root: Path, number: int) -> adr.Record:
    return adr.parse(adr.records(root / "docs/adr")[number].read_text())


def slow_bench(p99: float) -> dict[str, Any]:
    bench = copy.deepcopy(BENCH_SERVE)
    bench["servers"]["project"]["c1"] = latency(p99 / 2, p99 * 0.8, p99, 1000 / p99)
    return bench


def test_batch_deployment_measures_the_server_and_card_carries_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = canned(tmp_path, monkeypatch)
    root = project["root"]
    assert engine.run(root) == "done"
    assert "bench_serve" in project["calls"]
    integration = record(root, 9)
    assert integration.chosen == "batch predictions with the CLI"  # deployment_target: batch
    assert integration.status == "accepted"
    assert "| project | 1 | 1.90 | 2.40 | 3.10 | 480 | 95000 |" in integration.context
    card = (root / "docs/model_card.md").read_text()
    assert "p99 3.10 ms for one row at concurrency 1; the answers set no latency budget" in card
    assert "| project | 8 | 14.00 | 19.00 | 22.00 | 530 | - |" in card
    # Phase 12 asked monitor for validation against training of the held-out run.
    (monitor,) = [given for command, given, _ in project["commands"] if command == "monitor"]
    assert monitor[-2:] == ["--split", "val"]
    assert "largest PSI of 0.061 (`tenure` 0.061, `plan` 0.020) over 200 rows" in card
    assert "the threshold is 3.3x the floor" in card
    summary = (root / "docs/adr").glob("0012-*.md")
    assert "Monitoring plan" in next(summary).read_text()


def test_a_realtime_service_over_its_budget_fails_its_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = canned(tmp_path, monkeypatch, deployment_target="realtime", max_latency_ms=2)
    project["outputs"]["bench_serve"] = slow_bench(4.2)
    root = project["root"]
    assert engine.run(root) == "done"
    integration = record(root, 9)
    assert integration.chosen == "the project's HTTP service"
    assert integration.status == "rejected"
    verdict = "p99 4.20 ms for one row at concurrency 1 FAILS the max_latency_ms budget of 2 ms"
    assert verdict in integration.bad[-1]
    summary = next((root / "docs/adr").glob("0012-*.md")).read_text()
    assert f"make serving faster or relax the budget: {verdict}" in summary
    assert verdict in (root / "docs/model_card.md").read_text()


def test_a_realtime_service_within_its_budget_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = canned(tmp_path, monkeypatch, deployment_target="realtime", max_latency_ms=50)
    root = project["root"]
    assert engine.run(root) == "done"
    integration = record(root, 9)
    assert integration.chosen == "the project's HTTP service"
    assert integration.status == "accepted"
    assert "p99 3.10 ms for one row at concurrency 1 meets the max_latency_ms budget of 50 ms" in (
        integration.because + " ".join(integration.good)
    )


def test_a_noise_floor_at_the_threshold_raises_the_alert_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = canned(tmp_path, monkeypatch)
    noisy = copy.deepcopy(MONITOR)
    noisy["features"] = [drift("tenure", 0.31, 0.2), drift("plan", 0.05, 0.6)]
    project["outputs"]["monitor"] = noisy
    root = project["root"]
    assert engine.run(root) == "done"
    card = (root / "docs/model_card.md").read_text()
    assert "sampling noise alone would alert; alert on PSI above 0.62" in card


def test_the_card_and_records_with_latency_tables_pass_markdownlint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, markdownlint
) -> None:
    project = canned(tmp_path, monkeypatch, deployment_target="realtime", max_latency_ms=2)
    root = project["root"]
    assert engine.run(root) == "done"
    docs = [root / "docs/model_card.md", *sorted((root / "docs/adr").glob("00*.md"))]
    linted = markdownlint(docs)
    assert linted.returncode == 0, linted.stdout + linted.stderr
