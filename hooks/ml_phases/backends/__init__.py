"""Backends fill the phase specs in: `offline` (deterministic analysts working through the
project's tools) and `claude` (Claude agents with sandboxed tools); base.py is what both are."""
