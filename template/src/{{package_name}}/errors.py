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


class SplitError(ProjectError):
    """Too few rows (or rows per class / group / time) for the requested splits."""

    exit_code = 7


class CheckpointError(ProjectError):
    """A run or checkpoint that is missing, corrupt, or was made with another config."""

    exit_code = 8


class TrainingError(ProjectError):
    """Training diverged (a NaN or infinite loss); the last good checkpoint is kept."""

    exit_code = 9


class SchemaError(ProjectError):
    """Data to predict on lacks columns the model was trained with."""

    exit_code = 10


class TrackingError(ProjectError):
    """The configured tracking backend is not installed or cannot be reached."""

    exit_code = 11


class ColumnError(ProjectError):
    """A column the model cannot take: text in a numeric feature, or a nested / binary type."""

    exit_code = 12
