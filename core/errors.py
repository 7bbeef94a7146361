"""The root of the project's exception tree, and the exit codes the CLI maps errors to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT


class TrunkctlError(Exception):
    """Base of every error trunkctl raises on purpose; its message is safe to show."""

    exit_code = EXIT_FAILED


class UsageError(TrunkctlError):
    """Raised when options or input files cannot be used at all (exit 2)."""

    exit_code = EXIT_USAGE


class UnreadableInputError(UsageError):
    """Raised when an input file cannot be opened, read or decoded."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class InterruptedByUserError(TrunkctlError):
    """Raised when Ctrl-C (or SIGTERM) stops a command; the message says what goes on."""

    exit_code = EXIT_INTERRUPTED
