"""Scrub tokens and secrets out of text before it reaches a message or a log line."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_TOKEN_PARAM = re.compile(r"(access_token|refresh_token|password)=[^&\s'\"]*", re.IGNORECASE)
REDACTED = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with token query parameters and every known secret replaced by ***."""
    text = _TOKEN_PARAM.sub(rf"\1={REDACTED}", text)
    # Longest first: a secret that contains another must not be left with a tail in clear.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def redact_values(value: Any, secrets: Iterable[str]) -> Any:
    """A parsed JSON value (a PBX's invalid_param_list, say) with every string in it redacted,
    keys included. Redacting its JSON text instead would miss a secret that JSON escapes (a
    password with a quote or a backslash)."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [redact_values(element, secrets) for element in value]
    if isinstance(value, dict):
        return {redact(str(key), secrets): redact_values(v, secrets) for key, v in value.items()}
    return value
