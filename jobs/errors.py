"""Errors the jobs CLI reports to people, each with its exit code.

Anything raised as a `JobsError` is a problem with what the user gave us (a file, a flag, a
dataset) or with a service we depend on; the CLI prints its message and exits with its code
instead of a traceback. Any other exception is a bug and exits with 1.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2  # argparse's own code for bad flags
EXIT_INVALID_INPUT = 3
EXIT_SERVICE_UNREACHABLE = 4  # storage, Azure (or no sign-in), a Dask scheduler
EXIT_STORAGE_UNREACHABLE = EXIT_SERVICE_UNREACHABLE  # the earlier name
EXIT_JOB_FAILED = 5
EXIT_INTERRUPTED = 130  # the shell's status for a run stopped by Ctrl-C (128 + SIGINT)


class JobsError(Exception):
    """A problem the user can fix; the message names the culprit and what is allowed."""

    exit_code = EXIT_INVALID_INPUT


class InvalidInputError(JobsError):
    """A file, flag, dataset or column that is missing or malformed."""

    exit_code = EXIT_INVALID_INPUT


class ServiceUnreachableError(JobsError):
    """A service could not be reached, or we are not signed in to it: storage, Azure, a
    Dask scheduler."""

    exit_code = EXIT_SERVICE_UNREACHABLE


class StorageUnreachableError(ServiceUnreachableError):
    """The storage account or endpoint behind a location could not be reached."""


class JobFailedError(JobsError):
    """The Azure ML job ended in a state other than Completed."""

    exit_code = EXIT_JOB_FAILED
