"""The limits agents run under: a dollar budget for the run, and a wall clock per phase.

One `Budget` lives for a whole `ml-phases run`; each phase gets `Limits` with its own deadline.
Agents of a phase run in threads and share both: when one limit is reached every agent of the
phase stops at its next request, and the phase is reported incomplete (resumable).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..base import PhaseIncomplete


@dataclass
class Budget:
    """Dollars spent in this run against the most it may spend (None: no limit)."""

    limit_usd: float | None
    spent_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, usd: float) -> None:
        with self._lock:
            self.spent_usd += usd

    @property
    def exhausted(self) -> bool:
        return self.limit_usd is not None and self.spent_usd >= self.limit_usd


@dataclass
class Limits:
    """What one phase's agents may use; the first limit reached stops them all."""

    budget: Budget
    seconds: float  # wall clock for the whole phase
    max_turns: int  # requests per agent
    started: float = field(default_factory=time.monotonic)
    stopped: str | None = None  # why the phase stops early, once it must

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    def check(self) -> None:
        """Raise PhaseIncomplete when this phase must stop; called before every request."""
        if self.stopped is None and self.budget.exhausted:
            self.stop(
                f"the budget of ${self.budget.limit_usd:g} is spent"
                f" (${self.budget.spent_usd:.4f} this run)"
            )
        if self.stopped is None and self.remaining() <= 0:
            self.stop(f"the phase's time limit of {self.seconds:.0f} s is reached")
        if self.stopped is not None:
            raise PhaseIncomplete(self.stopped)
