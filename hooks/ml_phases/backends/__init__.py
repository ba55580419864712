"""Backends fill the phase specs in: `offline` (deterministic analysts) and, later, `claude`."""
