"""How phase 5 sizes the training pipeline from measured facts, not from habit.

Two rules, stated in the ADR they decide: stream the data from disk when it takes more than a
share of the machine's physical memory (the generated project's `data.storage: auto` uses the
same share), else keep it in memory; train with DDP under torchrun when the project's torch sees
more than one accelerator, else in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...project import Project, ToolError
from .common import machine_memory_mb

STREAM_SHARE = 4  # stream when the data takes more than 1/STREAM_SHARE of physical memory
STORAGE_KEY = "data.storage"  # the project's switch: auto | memory | stream
# Run by the project's own interpreter: the engine's may have no torch, or another build.
DEVICE_PROBE = "import torch; print(torch.cuda.device_count())"
PROBE_SECONDS = 300  # importing torch on a busy machine takes seconds, never minutes


@dataclass(frozen=True)
class Devices:
    """The accelerators the project's torch sees; `problem` says why they were not counted."""

    count: int
    problem: str | None = None

    @property
    def text(self) -> str:
        if self.problem:
            return f"not measured ({self.problem}), so counted as 0"
        return f"{self.count} CUDA device{'' if self.count == 1 else 's'}"


def count_devices(project: Project) -> Devices:
    """`torch.cuda.device_count()` in the project's environment: 0 on CPU, and 0 (with the
    reason) where torch cannot be imported or the probe fails."""
    try:
        done = project.run("-c", DEVICE_PROBE, timeout=PROBE_SECONDS)
    except ToolError as exc:
        return Devices(0, str(exc))
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].strip().isdigit():
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return Devices(0, f"the project's python could not count them: {reason}")
    return Devices(int(lines[-1]))


def file_mb(root: Path, source: str) -> float | None:
    """A file source's size on disk, read from its metadata (the file is never opened); None
    for a bundled sample or a file that is not there."""
    path = Path(source) if Path(source).is_absolute() else root / source
    try:
        return os.stat(path).st_size / 2**20
    except OSError:
        return None


@dataclass(frozen=True)
class Scale:
    """The measured facts the rules read, and what the rules decide from them."""

    data_mb: float  # the training data in memory
    ram_mb: float | None  # the machine's physical memory; None where it cannot be read
    devices: Devices

    @property
    def limit_mb(self) -> float | None:
        return None if self.ram_mb is None else self.ram_mb / STREAM_SHARE

    @property
    def stream(self) -> bool:
        return self.limit_mb is not None and self.data_mb > self.limit_mb

    @property
    def storage(self) -> str:
        """The value of the project's `data.storage` the rule picks."""
        return "stream" if self.stream else "memory"

    @property
    def processes(self) -> int:
        return self.devices.count if self.devices.count > 1 else 1

    def train_command(self, package: str, config: str) -> str:
        """The command line that trains `config` the way the rule decides."""
        return train_command(package, config, self.processes)


def train_command(package: str, config: str, processes: int) -> str:
    """`python -m <pkg> train …` for one process, torchrun's standalone launcher for more."""
    train = f"-m {package} train --config {config}"
    if processes > 1:
        return f"torchrun --standalone --nproc_per_node {processes} {train}"
    return f"python {train}"


def measure(project: Project, data_mb: float) -> Scale:
    """The facts of this machine and this project's environment, beside the data's size."""
    return Scale(data_mb, machine_memory_mb(), count_devices(project))


def rule() -> str:
    """The two rules as the ADR states them."""
    return (
        f"stream the data from disk (`{STORAGE_KEY}: stream`) when it takes more than"
        f" 1/{STREAM_SHARE} of physical memory, else keep it in memory (`{STORAGE_KEY}: memory`);"
        f" the project's `{STORAGE_KEY}: auto` applies the same share when it runs, to its own"
        " estimate (the row count times the in-memory size of the first 1000 rows). Train with"
        " DDP, `torchrun --standalone --nproc_per_node <devices>`, when torch sees more than one"
        " accelerator, else in one process: on CPU one process already uses every core through"
        " torch's threads, while torchrun gives each rank one thread (OMP_NUM_THREADS=1) and adds"
        " a gradient all-reduce to every step"
    )
