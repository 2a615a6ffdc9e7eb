"""The exceptions Feedback Insights raises, and what the CLI does with them.

    InsightsError            base; carries the process exit code
    ├── InputError           bad input file, column or value (exit 2)
    ├── ConfigError          bad configuration or CLI option (exit 2)
    ├── ModelError           a configured model cannot be loaded (exit 2)
    └── StorageError         an output or cache folder cannot be written: disk full, read-only (exit 2)

Anything else escaping a run is an internal error (exit 1). Every message is one line and names
the file, row, column or parameter, the value received and what to do about it.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = [
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "ConfigError",
    "InputError",
    "InsightsError",
    "ModelError",
    "StorageError",
    "storage_problem",
    "where",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2


class InsightsError(Exception):
    """Base class: an error whose message is meant for the user, as is."""

    exit_code = EXIT_INPUT


class InputError(InsightsError):
    """An input file, column or value that the run cannot use."""


class ConfigError(InsightsError):
    """A configuration value or CLI option that is invalid."""


class ModelError(InsightsError):
    """A configured model that cannot be found or loaded."""


class StorageError(InsightsError):
    """A file the run must write cannot be written (no space left, read-only or unwritable folder)."""


#: errno values that mean "the disk or folder cannot take the write", not a bug: what each one says.
_STORAGE_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def storage_problem(exc: BaseException) -> str | None:
    """What a full disk or unwritable folder behind ``exc`` is, in words; None for any other error.

    pyarrow reports a full disk as an OSError whose errno is unset and whose message names it.
    """
    if not isinstance(exc, OSError):
        return None
    if exc.errno in _STORAGE_ERRNOS:
        return _STORAGE_ERRNOS[exc.errno]
    text = str(exc)
    if "No space left on device" in text or "[errno 28]" in text.lower():
        return _STORAGE_ERRNOS[errno.ENOSPC]
    return None


def where(path: str | Path | None, row: int | None = None, column: str | None = None) -> str:
    """Format a location as ``file.csv row 12 column 'text'`` for messages."""
    parts = [str(path) if path is not None else "<input>"]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return " ".join(parts)
