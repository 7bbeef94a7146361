"""One PBX of the inventory: where it is, how to authenticate, and its delivery limits.

Producer and worker share this model: the producer stores entries in Redis at submit time, and a
worker on any machine reads them back, so it needs nothing but the Redis URL.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_serializer,
)
from pydantic_core import PydanticCustomError

from trunks.schema import NonEmptySecret
from trunks.text import quoted

DEFAULT_API_PATH = "openapi/v1.0"
# The limits' ranges (an inventory cell is read as a number only when its digits can fit).
MAX_INFLIGHT_RANGE = (1, 1000)
MIN_INTERVAL_MS_RANGE = (0, 3_600_000)
MAX_TIMEOUT_S = 3600
ALIAS_RE = re.compile(r"[A-Za-z0-9_.-]+")
_FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}")
_SPACE_RE = re.compile(r"\s")


def _check_alias(value: str) -> str:
    if not ALIAS_RE.fullmatch(value):
        raise PydanticCustomError(
            "pbx_alias",
            "may contain only letters, digits, '_', '-' and '.', got {value}",
            {"value": quoted(value)},
        )
    return value


def _base_url_problem(value: str) -> str | None:
    """What is wrong with a base URL, if anything."""
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError when not a number from 0 to 65535
    except ValueError:
        return "must be an http:// or https:// URL with a port from 1 to 65535"
    checks = (
        (
            parts.scheme.lower() in ("http", "https") and not _SPACE_RE.search(value),
            "must be an http:// or https:// URL",
        ),
        (bool(parts.hostname), "must name a host (http://host[:port][/prefix])"),
        (port != 0, "must have a port from 1 to 65535"),
        (
            parts.username is None and parts.password is None,
            "must not carry a user name or password (client_id and client_secret do)",
        ),
        (not parts.query and not parts.fragment, "must not have a query string or fragment"),
    )
    return next((message for ok, message in checks if not ok), None)


def _check_base_url(value: str) -> str:
    problem = _base_url_problem(value)
    if problem:
        if "@" in value or "://" not in value:
            # It may carry a password, or be no URL at all (a client secret in the wrong
            # column, say): not echoed.
            raise PydanticCustomError("base_url", problem)
        raise PydanticCustomError("base_url", problem + ", got {value}", {"value": quoted(value)})
    return value.rstrip("/")


def _check_fingerprint(value: str) -> str:
    digits = value.replace(":", "").lower()
    if not _FINGERPRINT_RE.fullmatch(digits):
        raise PydanticCustomError(
            "tls_fingerprint", "must be a SHA-256 fingerprint: 64 hex digits, colons allowed"
        )
    return digits


Alias = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_alias)]


class PbxEntry(BaseModel):
    """An inventory entry as stored in Redis (the CA file is kept by content, not path)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    pbx: Alias
    base_url: Annotated[str, AfterValidator(_check_base_url)]
    client_id: Annotated[str, StringConstraints(min_length=1)]
    client_secret: NonEmptySecret
    api_path: Annotated[str, AfterValidator(lambda path: path.strip("/"))] = DEFAULT_API_PATH
    verify_tls: bool = True
    ca_pem: str | None = None
    tls_fingerprint: Annotated[str, AfterValidator(_check_fingerprint)] | None = None
    max_inflight: Annotated[int, Field(ge=MAX_INFLIGHT_RANGE[0], le=MAX_INFLIGHT_RANGE[1])] = 1
    min_interval_ms: Annotated[
        int, Field(ge=MIN_INTERVAL_MS_RANGE[0], le=MIN_INTERVAL_MS_RANGE[1])
    ] = 0
    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 30.0

    @property
    def api_url(self) -> str:
        """The URL that endpoint paths are appended to."""
        return f"{self.base_url}/{self.api_path}" if self.api_path else self.base_url

    @field_serializer("client_secret", when_used="json")
    def _reveal_secret(self, value: SecretStr) -> str:
        # Only the copy stored in Redis for the workers carries the secret in clear.
        return value.get_secret_value()

    def stored_json(self) -> str:
        """The entry as stored in Redis (the secret included: Redis must be protected)."""
        return self.model_dump_json()

    @classmethod
    def from_stored(cls, data: str | bytes) -> PbxEntry:
        """An entry read back from Redis."""
        return cls.model_validate_json(data)

    def public_fields(self) -> dict[str, Any]:
        """What may be shown to people: everything but the secret and the certificate."""
        return self.model_dump(exclude={"client_secret", "ca_pem"})
