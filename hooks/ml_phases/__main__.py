"""`python -m ml_phases` runs the command-line interface."""

from .cli import main

main()
