"""Phase 5 sizes the pipeline from measured facts: the data's bytes against the machine's memory
(stream past a quarter), and the accelerators the project's torch counts (DDP past one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import PROFILE, canned_project, completed
from ml_phases import adr, engine
from ml_phases import state as run_state
from ml_phases.backends.offline import scale
from ml_phases.project import ToolError

# The canned profile: 200 rows, 1 numeric (value + missing flag) and 1 text feature (32 one-hot
# inputs) = 34 float32 inputs a row.
DATA_MB = 200 * 34 * 4 / 2**20


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    made = canned_project(tmp_path / "churn", monkeypatch)
    made["memory"] = lambda mb: monkeypatch.setattr(scale, "machine_memory_mb", lambda: mb)
    made["memory"](16384.0)  # a 16 GB machine
    return made


def design(project: dict) -> adr.Record:
    assert engine.run(project["root"]) == "gate"
    return adr.parse(adr.records(project["root"] / "docs/adr")[5].read_text())


def gate_text(project: dict) -> str:
    return adr.parse(adr.records(project["root"] / "docs/adr")[6].read_text()).context


def test_small_data_on_a_cpu_stays_in_memory_in_one_process(project: dict) -> None:
    record = design(project)
    assert record.chosen == "in-memory tensors, one process"
    assert f"= {DATA_MB:.2f} MB in memory" in record.context
    assert "16384 MB of physical memory (os.sysconf), so 1/4 of it is 4096 MB" in record.context
    assert "Accelerators: 0 CUDA devices" in record.context
    assert "Rule: stream the data from disk (`data.storage: stream`) when it takes more" in (
        record.context
    )
    assert "on CPU one process already uses every core" in record.context
    assert "one command trains it: `python -m churn train --config configs/experiment.yaml`" in (
        record.good
    )
    assert [option.name for option in record.options] == [
        "in-memory tensors, one process",
        "streamed batches, one process",
        "in-memory tensors, DDP over 2 processes",
    ]
    assert "no accelerator" in record.options[2].cons[0]
    facts = run_state.load_facts(project["root"]).infrastructure_design
    assert (facts.storage, facts.processes, facts.devices) == ("memory", 1, 0)
    assert "in-memory training with mlflow tracking" in gate_text(project)


def test_several_devices_train_with_torchrun_one_rank_each(project: dict) -> None:
    project["outputs"]["devices"] = completed("4\n")
    record = design(project)
    command = "torchrun --standalone --nproc_per_node 4 -m churn train --config"
    assert record.chosen == "in-memory tensors, DDP over 4 processes"
    assert f"one command trains it: `{command} configs/experiment.yaml`" in record.good
    assert "Accelerators: 4 CUDA devices" in record.context
    assert record.options[2].name == "in-memory tensors, one process"
    assert record.options[2].cons == ["leaves 3 of 4 devices idle"]
    assert run_state.load_facts(project["root"]).infrastructure_design.processes == 4
    assert "in-memory training on 4 processes (DDP) with mlflow tracking" in gate_text(project)


def test_one_device_is_one_process(project: dict) -> None:
    project["outputs"]["devices"] = completed("1\n")
    record = design(project)
    assert record.chosen == "in-memory tensors, one process"
    assert record.options[2].cons == ["one device: a second rank would share it"]


def test_data_past_a_quarter_of_memory_streams(project: dict) -> None:
    rows = 10_000_000  # 10M rows x 34 float32 inputs = 1297 MB, past a quarter of 4 GB
    project["outputs"]["profile"] = {**PROFILE, "rows": rows}
    project["outputs"]["risks"] = {**project["outputs"]["risks"], "rows": rows}
    project["memory"](4096.0)
    record = design(project)
    assert record.chosen == "streamed batches, one process"
    assert record.because.startswith(
        "the data takes 1297.00 MB, more than 1/4 of memory (1024 MB); accelerators: 0 CUDA"
    )
    assert "Decided: streamed batches, one process (`data.storage: stream`)." in record.context
    assert run_state.load_facts(project["root"]).infrastructure_design.storage == "stream"
    assert "streamed training with mlflow tracking" in gate_text(project)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            completed("", 1),
            "the project's python could not count them: exit code 1",
        ),
        (completed("no number\n"), "could not count them"),
        (ToolError("`-c import torch; print(torch.cuda.device_count())` did not finish"), "finish"),
    ],
)
def test_devices_that_cannot_be_counted_are_zero_and_said_so(
    project: dict, answer: Any, reason: str
) -> None:
    project["outputs"]["devices"] = answer
    record = design(project)
    assert record.chosen == "in-memory tensors, one process"
    assert "Accelerators: not measured (" in record.context
    assert reason in record.context
    assert "so counted as 0" in record.context


def test_a_file_source_s_size_on_disk_is_read_without_opening_it(project: dict) -> None:
    (project["root"] / "data").mkdir()
    (project["root"] / "data/churn.csv").write_bytes(b"x" * 3 * 2**20)
    assert "`data/churn.csv` takes 3.00 MB on disk" in design(project).context


def test_the_rule_streams_only_past_the_share() -> None:
    at_limit = scale.Scale(1024.0, 4096.0, scale.Devices(0))
    assert (at_limit.storage, at_limit.processes) == ("memory", 1)
    past = scale.Scale(1024.5, 4096.0, scale.Devices(2))
    assert (past.storage, past.processes) == ("stream", 2)
    unknown = scale.Scale(10**6, None, scale.Devices(0))
    assert unknown.storage == "memory"  # nothing to compare with: no switch on a guess
