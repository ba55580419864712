"""ml-phases: runs the twelve design-and-build phases on a generated project, one ADR each."""

__version__ = "0.2.0"
