"""One API request as the endpoint handlers see it, and how they read its parameters."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pbxsim.errcodes import param_problem
from pbxsim.errors import SimulatorError
from pbxsim.pbx import Pbx


class ParamError(SimulatorError):
    """Raised by a handler when a query or body parameter is missing or invalid (40002)."""

    def __init__(self, field: str, value: str, validation_type: str) -> None:
        super().__init__(f"{field}: {validation_type}")
        self.problem = param_problem(field, value, validation_type)


@dataclass(frozen=True)
class ApiCall:
    """The PBX a request is for, its query, its raw body and the caller's IP."""

    pbx: Pbx
    query: Mapping[str, str]
    raw_body: bytes
    remote_ip: str

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one (40001)."""
        return self._parsed_body

    @cached_property
    def _parsed_body(self) -> dict[str, Any] | None:
        # Parsed once: the write log reads the trunk's name before the handler runs.
        try:
            body = json.loads(self.raw_body)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def int_param(self, name: str, default: int | None = None, minimum: int = 1) -> int:
        """A positive integer from the query; the default when absent (missing if no default)."""
        text = self.query.get(name)
        if text is None:
            if default is None:
                raise ParamError(name, "", "missing")
            return default
        try:
            value = int(text)
        except ValueError:
            raise ParamError(name, text, "int_parsing") from None
        if value < minimum:
            raise ParamError(name, text, "greater_than_equal")
        return value

    def choice_param(self, name: str, choices: Sequence[str], default: str) -> str:
        """One of the choices from the query; the default when absent."""
        value = self.query.get(name, default)
        if value not in choices:
            raise ParamError(name, value, "enum")
        return value

    def str_param(self, name: str) -> str:
        """A required string from the query."""
        value = self.query.get(name)
        if value is None:
            raise ParamError(name, "", "missing")
        return value
