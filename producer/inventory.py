"""The inventory CSV of PBXs, read into validated entries (secrets resolved at read time)."""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import UnreadableInputError
from producer.csv_reader import CsvRow, CsvTable, open_table
from producer.input_files import DEFAULT_LIMITS, InputLimits, SizeCap, read_capped
from producer.problems import Problem, add_problems
from trunks.cells import CellError, parse_integer
from trunks.pbx import MAX_INFLIGHT_RANGE, MAX_TIMEOUT_S, MIN_INTERVAL_MS_RANGE, PbxEntry
from trunks.text import cell_problem, quoted

INVENTORY_COLUMNS = (
    "pbx", "base_url", "client_id", "client_secret", "api_path", "verify_tls", "ca_file",
    "tls_fingerprint", "max_inflight", "min_interval_ms", "timeout_s",
)  # fmt: skip
# Without these a row can never be an entry: an inventory lacking one is wrong as a whole.
REQUIRED_COLUMNS = ("pbx", "base_url", "client_id", "client_secret")
ENV_PREFIX = "env:"
_PEM_END = "-----END CERTIFICATE-----"
_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.DOTALL
)
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
# Decimal seconds: no exponent, no nan or inf (float() would take all three).
_SECONDS_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER_RANGES = {"max_inflight": MAX_INFLIGHT_RANGE, "min_interval_ms": MIN_INTERVAL_MS_RANGE}


@dataclass
class Inventory:
    """The entries of one inventory file by alias, and the problems found in it."""

    entries: dict[str, PbxEntry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)
    unread: bool = False  # its header is wrong: no row was read


def _secret(text: str, environ: Mapping[str, str]) -> str:
    if not text.startswith(ENV_PREFIX):
        return text
    name = text[len(ENV_PREFIX) :]
    if not name:
        raise CellError("names no environment variable after 'env:'")
    value = environ.get(name)
    if value is None:
        raise CellError(f"environment variable {name} is not set")
    return value


def _seconds(text: str) -> float:
    """A decimal number of seconds, read only when its whole part can fit MAX_TIMEOUT_S."""
    if not _SECONDS_RE.fullmatch(text):
        raise CellError(f"must be a number of seconds, got {quoted(text)}")
    whole = text.lstrip("+-").partition(".")[0].lstrip("0")
    if len(whole) > len(str(MAX_TIMEOUT_S)):
        raise CellError(
            "must be more than 0" if text.startswith("-") else f"must be at most {MAX_TIMEOUT_S}"
        )
    return float(text)


def _ca_content(path: Path, cap: SizeCap) -> str:
    """The text of a `ca_file`, at most `cap` bytes of it."""
    try:
        return read_capped(path, cap).decode("utf-8")
    except UnreadableInputError as exc:
        raise CellError(f"cannot read {str(path)!r}: {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a PEM text file"
        raise CellError(f"cannot read {str(path)!r}: {reason}") from None


def _ca_pem(text: str, base_dir: Path, cap: SizeCap) -> str:
    """The CA certificates of a `ca_file`, as PEM: only its certificates (the file may hold more,
    a private key say, which must not be stored), checked to load as TLS trust anchors."""
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # ~user of no known user
        raise CellError(f"cannot read {text!r}: no such user's home directory") from None
    path = path if path.is_absolute() else base_dir / path
    content = _ca_content(path, cap)
    # Past the last END, a BEGIN would make the lazy pattern scan to the end again and again.
    content = content[: content.rfind(_PEM_END) + len(_PEM_END)] if _PEM_END in content else ""
    certificates = "".join(f"{block}\n" for block in _PEM_CERTIFICATE.findall(content))
    if not certificates:
        raise CellError(f"{str(path)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.create_default_context(cadata=certificates)
    except ssl.SSLError as exc:
        raise CellError(f"{str(path)!r}: its certificate does not load: {exc.reason}") from None
    return certificates


def _cell_value(column: str, raw: str, environ: Mapping[str, str]) -> Any:
    if problem := cell_problem(raw, secret=column == "client_secret"):
        raise CellError(problem)
    text = raw.strip()
    if column == "client_secret":
        return _secret(text, environ)
    if column == "verify_tls":
        if text.lower() not in _BOOLEANS:
            raise CellError(f"must be true or false, got {quoted(text)}")
        return _BOOLEANS[text.lower()]
    if column in _INTEGER_RANGES:
        return parse_integer(text, _INTEGER_RANGES[column])
    if column == "timeout_s":
        return _seconds(text)
    return text


def _entry_values(
    row: CsvRow, base_dir: Path, environ: Mapping[str, str], ca_cap: SizeCap
) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column, raw in row.cells.items():
        text = raw.strip()
        if not text:
            continue
        try:
            value = _cell_value(column, raw, environ)
        except CellError as exc:
            errors[column] = str(exc)
            continue
        if column == "ca_file":
            try:
                values["ca_pem"] = _ca_pem(text, base_dir, ca_cap)
            except CellError as exc:
                errors[column] = str(exc)
        else:
            values[column] = value
    if values.get("verify_tls") is False and "ca_pem" in values:
        # Which one is meant? A CA file says "verify against it"; false says "do not verify".
        errors["verify_tls"] = "is false, yet a ca_file is given: leave one of them out"
    return values, errors


def _message(error: Mapping[str, Any]) -> str:
    """A pydantic error in the words the trunk columns use (never with the input: secrets)."""
    ctx = {
        key: f"{value:g}" if isinstance(value, int | float) else value
        for key, value in (error.get("ctx") or {}).items()
    }
    messages = {
        "missing": "required",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "greater_than": f"must be more than {ctx.get('gt')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
    }
    return messages.get(error["type"], str(error["msg"]))


def _entry(
    row: CsvRow, table: CsvTable, environ: Mapping[str, str], ca_cap: SizeCap
) -> PbxEntry | list[Problem]:
    values, errors = _entry_values(row, table.path.parent, environ, ca_cap)
    problems = [Problem(table.name, row.line, col, msg) for col, msg in errors.items()]
    try:
        entry = PbxEntry.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            column = str(error["loc"][0]) if error["loc"] else None
            if column == "ca_pem":
                column = "ca_file"
            if column in errors:
                continue
            problems.append(Problem(table.name, row.line, column, _message(error)))
    else:
        if not problems:
            return entry
    return problems


def _header_problems(table: CsvTable) -> list[Problem]:
    name = table.name
    problems = [Problem(name, 1, p.column, p.message) for p in table.problems]
    if not problems:
        problems = [
            Problem(name, 1, column, "required column is missing from the header")
            for column in REQUIRED_COLUMNS
            if column not in table.columns
        ]
    return problems


def _alias(row: CsvRow) -> str:
    """The row's alias, or "" when its cell is unreadable (the entry's problems say why)."""
    raw = row.cells.get("pbx", "")
    return "" if cell_problem(raw) else raw.strip()


def _add_row(
    inventory: Inventory,
    first_line: dict[str, int],
    row: CsvRow,
    entry_of: Callable[[CsvRow], PbxEntry | list[Problem]],
    name: str,
) -> None:
    """One row into the inventory: its entry, or its problems."""
    alias = _alias(row)
    if alias in first_line:
        message = f"{quoted(alias)} already defined on line {first_line[alias]}"
        add_problems(inventory.problems, [Problem(name, row.line, "pbx", message)])
        return
    if alias:
        first_line[alias] = row.line
        inventory.aliases.add(alias)
    if row.extra_cells:
        add_problems(
            inventory.problems,
            [Problem(name, row.line, None, "the row has more cells than the header")],
        )
        return
    result = entry_of(row)
    if isinstance(result, PbxEntry):
        inventory.entries[result.pbx] = result
    else:
        add_problems(inventory.problems, result)


def read_inventory(
    path: str | PathLike[str],
    environ: Mapping[str, str] | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Inventory:
    """Every entry of an inventory file, or the problems that keep entries out."""
    found = os.environ if environ is None else environ
    inventory = Inventory()
    with open_table(path, INVENTORY_COLUMNS, limits.inventory) as table:
        inventory.problems.extend(_header_problems(table))
        inventory.unread = bool(inventory.problems)
        if inventory.unread:
            return inventory
        first_line: dict[str, int] = {}
        for row in table.rows():
            _add_row(
                inventory, first_line, row,
                lambda row: _entry(row, table, found, limits.ca_file), table.name,
            )  # fmt: skip
    return inventory
