"""Scrub tokens and secrets out of text before it reaches a message or a log line."""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN_PARAM = re.compile(r"(access_token|refresh_token|password)=[^&\s'\"]*", re.IGNORECASE)
REDACTED = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with token query parameters and every known secret replaced by ***."""
    text = _TOKEN_PARAM.sub(rf"\1={REDACTED}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
