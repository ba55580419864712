"""The offline backend: each role is an analyst or engineer working through the project's tools.

Deterministic and network-free: every number in a report is measured on the user's data by the
project's own CLI, tests and linters. design.py holds the Discovery and Design phases, build.py
Implementation, validate.py Validation; backend.py hands each phase to its function.
"""
