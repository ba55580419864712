"""`python -m <package>` runs the command-line interface."""

from .cli import main

main()
