"""The errors that bad input raises, each with its own exit code.

The CLI turns any of them into one line on stderr and that exit code, with no traceback;
everything else is a bug and keeps its traceback.
"""


class ProjectError(Exception):
    """Bad input that the user can fix; the message says what is wrong and what is allowed."""

    exit_code = 1

    def __init_subclass__(cls, exit_code: int, **kwargs: object) -> None:
        """Each kind of error declares its exit code: `class XError(ProjectError, exit_code=N)`."""
        super().__init_subclass__(**kwargs)
        cls.exit_code = exit_code


class ConfigError(ProjectError, exit_code=3):
    """A config file or override that is unreadable, unknown or ill-typed."""


class DataFileError(ProjectError, exit_code=4):
    """A data file that is missing or cannot be opened."""


class DataFormatError(ProjectError, exit_code=5):
    """A data file that opens but is not valid CSV / Parquet."""


class TargetError(ProjectError, exit_code=6):
    """A target column that is missing, all empty, or has a single class."""


class SplitError(ProjectError, exit_code=7):
    """Too few rows (or rows per class / group / time) for the requested splits."""


class CheckpointError(ProjectError, exit_code=8):
    """A run or checkpoint that is missing, corrupt, or was made with another config."""


class TrainingError(ProjectError, exit_code=9):
    """Training diverged (a NaN or infinite loss); the last good checkpoint is kept."""


class SchemaError(ProjectError, exit_code=10):
    """Data to predict on lacks columns the model was trained with."""


class TrackingError(ProjectError, exit_code=11):
    """The configured tracking backend is not installed or cannot be reached."""


class ColumnError(ProjectError, exit_code=12):
    """A column the model cannot take: text in a numeric feature, or a nested / binary type."""
