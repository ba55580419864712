"""The errors that bad input raises, each with its own exit code.

The CLI turns any of them into one line on stderr and that exit code, with no traceback;
everything else is a bug and keeps its traceback.
"""


class ProjectError(Exception):
    """Bad input that the user can fix; the message says what is wrong and what is allowed."""

    exit_code = 1


class ConfigError(ProjectError):
    """A config file or override that is unreadable, unknown or ill-typed."""

    exit_code = 3


class DataFileError(ProjectError):
    """A data file that is missing or cannot be opened."""

    exit_code = 4


class DataFormatError(ProjectError):
    """A data file that opens but is not valid CSV / Parquet."""

    exit_code = 5


class TargetError(ProjectError):
    """A target column that is missing, all empty, or has a single class."""

    exit_code = 6
