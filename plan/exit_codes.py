"""The exit statuses of `python -m plan` and `scripts/plan-diff`.

One scheme for every command of the project (see docs/exit-codes.md): 0 success, 1 a bug
(the only case with a traceback), 2 a bad command line, 3 invalid input, 4 a service
unreachable, 5 an Azure ML job failed; the plan adds 6 and 7 for what a diff found.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses of the plan tool."""

    NO_CHANGES = 0
    """The plan was made; a diff or compare found nothing (or no diff was asked for)."""
    UNEXPECTED_ERROR = 1
    """A bug: Python's own exit status for an uncaught exception, with its traceback."""
    USAGE = 2
    """A bad command line (argparse's own status)."""
    INVALID_INPUT = 3
    """A stack name or stack file, stack settings, a `--diff` base or an output file that
    cannot be used; the message names it."""
    CHANGES = 6
    """The diff (or compare) found changes, none of them destructive."""
    DESTRUCTIVE_CHANGES = 7
    """The diff found changes that re-create or delete a resource holding state or data."""
