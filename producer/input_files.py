"""Input files opened with a size cap: a file, a FIFO or a device is never read past its limit.

A regular file over its cap is refused from its size, before any byte is read; anything else
(a FIFO, `/dev/zero`, a file still growing) is counted as it is read, and refused at the first
read that passes the cap. A FIFO is opened without waiting for a writer: with none, it reads as
empty instead of hanging.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, BinaryIO

from core.errors import UnreadableInputError
from core.settings import ENV_PREFIX, Settings
from trunks.text import printable

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

KIB = 1024
MIB = 1024 * KIB
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


@dataclass(frozen=True)
class SizeCap:
    """The most bytes a kind of input file may hold, and the setting that raises it."""

    max_bytes: int
    setting: str

    def refusal(self) -> str:
        """Why a file over this cap is refused."""
        return (
            f"is larger than {_size(self.max_bytes)} (the limit set by {ENV_PREFIX}{self.setting})"
        )


def _size(count: int) -> str:
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count} bytes"


@dataclass(frozen=True)
class InputLimits:
    """The size caps of the files a batch reads (the product's defaults unless configured)."""

    trunks: SizeCap = SizeCap(50 * MIB, "MAX_TRUNKS_FILE_MB")
    inventory: SizeCap = SizeCap(10 * MIB, "MAX_INVENTORY_FILE_MB")
    ca_file: SizeCap = SizeCap(1 * MIB, "MAX_CA_FILE_KB")

    @classmethod
    def from_settings(cls, settings: Settings) -> InputLimits:
        """The caps configured by `TRUNKCTL_MAX_*` settings."""
        return cls(
            SizeCap(settings.max_trunks_file_mb * MIB, "MAX_TRUNKS_FILE_MB"),
            SizeCap(settings.max_inventory_file_mb * MIB, "MAX_INVENTORY_FILE_MB"),
            SizeCap(settings.max_ca_file_kb * KIB, "MAX_CA_FILE_KB"),
        )


DEFAULT_LIMITS = InputLimits()


class FileTooLargeError(UnreadableInputError):
    """Raised when an input file holds more bytes than its cap."""


class _CappedReader(io.RawIOBase):
    """A raw file that raises FileTooLargeError once more than its cap has been read."""

    def __init__(self, raw: io.FileIO, shown_path: str, cap: SizeCap) -> None:
        super().__init__()
        self._raw = raw
        self._shown_path = shown_path
        self._cap = cap
        self._read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        count = self._raw.readinto(buffer) or 0  # blocking: None (no data yet) never comes
        self._read_bytes += count
        if self._read_bytes > self._cap.max_bytes:
            raise FileTooLargeError(self._shown_path, self._cap.refusal())
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def _open_fd(path: str | PathLike[str], shown: str) -> int:
    """A descriptor of the file, opened for reading without waiting on a FIFO's writer."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK)
    except OSError as exc:
        raise UnreadableInputError(shown, exc.strerror or str(exc)) from None
    if _O_NONBLOCK:
        os.set_blocking(fd, True)  # reads wait for a writer's data, as for any file
    return fd


def _refusal(fd: int, cap: SizeCap, shown_path: str) -> UnreadableInputError | None:
    """Why an open file is refused before any byte of it is read, if it is."""
    try:
        info = os.fstat(fd)
    except OSError as exc:
        return UnreadableInputError(shown_path, exc.strerror or str(exc))
    if stat.S_ISDIR(info.st_mode):
        return UnreadableInputError(shown_path, os.strerror(errno.EISDIR))
    if stat.S_ISREG(info.st_mode) and info.st_size > cap.max_bytes:
        return FileTooLargeError(shown_path, cap.refusal())
    return None


def open_capped(path: str | PathLike[str], cap: SizeCap) -> BinaryIO:
    """The file at `path` for buffered binary reading, refused past `cap` (UnreadableInputError
    for a file that cannot be opened or is a directory). Messages name it by `str(path)`: an
    upload by the name it was sent with (producer.named_path)."""
    shown = printable(str(path))
    fd = _open_fd(path, shown)
    refusal = _refusal(fd, cap, shown)
    if refusal is not None:
        os.close(fd)
        raise refusal
    return io.BufferedReader(_CappedReader(io.FileIO(fd, "rb"), shown, cap))


def read_capped(path: str | PathLike[str], cap: SizeCap) -> bytes:
    """The whole content of a small file, at most `cap` bytes."""
    with open_capped(path, cap) as file:
        return file.read()
