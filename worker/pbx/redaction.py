"""Scrub tokens and secrets out of text before it reaches a message or a log line."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
