"""What a job's label may be: it is stored with the job and printed on terminals by `jobs`."""

from __future__ import annotations

import re

MAX_LABEL_CHARS = 200
# No control character (C0, DEL, C1): a terminal would act on it.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
_PRINTABLE = re.compile(PRINTABLE)


def label_problem(label: str) -> str | None:
    """Why a label cannot be used, or None."""
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept by Python as surrogates
        return "is not UTF-8 text"
    if len(label) > MAX_LABEL_CHARS:
        return f"is longer than {MAX_LABEL_CHARS} characters"
    if not _PRINTABLE.match(label):
        return "holds a control character"
    return None
