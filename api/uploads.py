"""Multipart uploads streamed to temporary files, the size limit kept while reading.

A file part goes to disk a chunk at a time as it arrives (never whole in memory), named for the
producer by the file name it was sent with (see producer.named_path); the request is cut off with
413 as soon as its parts pass the limit. The files live as long as the `received_form` block.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from aiohttp import BodyPartReader, web
from aiohttp.http import HttpProcessingError
from pydantic import BaseModel

from api.errors import BadRequestError, UploadTooLargeError
from api.forms import file_fields
from producer.named_path import NamedPath

CHUNK_BYTES = 64 * 1024
MAX_TEXT_BYTES = 4096  # a text field (label, skip_invalid)
MAX_NAME_CHARS = 120
# Shown in messages and stored with items, so printed on terminals: no control characters.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def display_name(filename: str | None, field: str, taken: set[str]) -> str:
    """How messages and reports name an uploaded file: its base name, printable, unique within
    the upload ('trunks.csv (2)' for a second file of that name)."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    base = _UNPRINTABLE.sub("?", base)[:MAX_NAME_CHARS] or f"{field}.csv"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base} ({number})"
    taken.add(name)
    return name


class _Budget:
    """The bytes a request may still send."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.left = max_bytes

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise UploadTooLargeError(self.max_bytes)


async def _save(part: BodyPartReader, out: BinaryIO, budget: _Budget) -> int:
    """Copy a part's content to `out`; its size."""
    size = 0
    while chunk := await part.read_chunk(CHUNK_BYTES):
        budget.spend(len(chunk))
        out.write(chunk)
        size += len(chunk)
    return size


async def _text(part: BodyPartReader, field: str, budget: _Budget) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK_BYTES):
        budget.spend(len(chunk))
        data += chunk
        if len(data) > MAX_TEXT_BYTES:
            raise BadRequestError(f"form field {field!r}: is longer than {MAX_TEXT_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError(f"form field {field!r}: is not UTF-8 text") from None


class _FormReader:
    """Reads one multipart request's parts into a directory and a dict of field values."""

    def __init__(self, form: type[BaseModel], directory: Path, max_bytes: int) -> None:
        self._form = form
        self._files = file_fields(form)
        self._directory = directory
        self._budget = _Budget(max_bytes)
        self._names: set[str] = set()
        self.values: dict[str, Any] = {}

    async def read_part(self, part: BodyPartReader) -> None:
        """Take one part: a file to disk, a text field to `values`."""
        field = part.name or ""
        if field not in self._form.model_fields:
            fields = ", ".join(self._form.model_fields)
            raise BadRequestError(f"form field {field!r}: is not a field of this form ({fields})")
        if field not in self._files:
            if field in self.values:
                raise BadRequestError(f"form field {field!r}: is given more than once")
            self.values[field] = await _text(part, field, self._budget)
            return
        path = self._directory / f"upload-{len(self._names)}"
        with path.open("wb") as out:
            size = await _save(part, out, self._budget)
        if size == 0 and not part.filename:
            return  # a file input left empty in a browser form
        named = NamedPath(path, display_name(part.filename, field, self._names))
        if self._files[field]:
            self.values.setdefault(field, []).append(named)
        elif field in self.values:
            raise BadRequestError(f"form field {field!r}: takes one file")
        else:
            self.values[field] = named


@asynccontextmanager
async def received_form(
    request: web.Request, form: type[BaseModel], max_bytes: int
) -> AsyncIterator[dict[str, Any]]:
    """The fields of a multipart/form-data request for `form` (files as NamedPaths in a
    temporary directory, removed after the block); no body at all is an empty form."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise UploadTooLargeError(max_bytes)
    if not request.body_exists:
        yield {}
        return
    if request.content_type != "multipart/form-data":
        raise BadRequestError(f"expected a multipart/form-data upload, got {request.content_type}")
    with tempfile.TemporaryDirectory(prefix="trunkctl-upload-") as directory:
        reader = _FormReader(form, Path(directory), max_bytes)
        try:
            multipart = await request.multipart()
            while (part := await multipart.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise BadRequestError("a nested multipart part is not a form field")
                await reader.read_part(part)
        except (ValueError, RuntimeError, HttpProcessingError) as exc:
            raise BadRequestError(f"unreadable multipart upload: {exc}") from None
        yield reader.values
