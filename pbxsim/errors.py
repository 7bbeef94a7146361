"""The simulator's own exceptions: misuse of its inspection and test interfaces."""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulator raises on purpose; its message is safe to show."""


class UnknownPbxError(SimulatorError):
    """Raised when an alias names no PBX of this simulator."""

    def __init__(self, alias: str) -> None:
        super().__init__(f"no PBX named {alias!r}")
        self.alias = alias


class SimInputError(SimulatorError, ValueError):
    """Raised when input to the inspection interface (rules, trunks, settings) is unusable."""
