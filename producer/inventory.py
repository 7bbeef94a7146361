"""The inventory CSV of PBXs, read into validated entries (secrets resolved at read time)."""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from producer.csv_reader import CsvRow, CsvTable, open_table
from producer.problems import Problem
from trunks.cells import CellError, parse_integer
from trunks.pbx import PbxEntry

INVENTORY_COLUMNS = (
    "pbx", "base_url", "client_id", "client_secret", "api_path", "verify_tls", "ca_file",
    "tls_fingerprint", "max_inflight", "min_interval_ms", "timeout_s",
)  # fmt: skip
# Without these a row can never be an entry: an inventory lacking one is wrong as a whole.
REQUIRED_COLUMNS = ("pbx", "base_url", "client_id", "client_secret")
ENV_PREFIX = "env:"
_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.DOTALL
)
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


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


def _ca_pem(text: str, base_dir: Path) -> str:
    """The CA certificates of a `ca_file`, as PEM: only its certificates (the file may hold more,
    a private key say, which must not be stored), checked to load as TLS trust anchors."""
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a PEM text file"
        raise CellError(f"cannot read {str(path)!r}: {reason}") from None
    certificates = "".join(f"{block}\n" for block in _PEM_CERTIFICATE.findall(content))
    if not certificates:
        raise CellError(f"{str(path)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.create_default_context(cadata=certificates)
    except ssl.SSLError as exc:
        raise CellError(f"{str(path)!r}: its certificate does not load: {exc.reason}") from None
    return certificates


def _cell_value(column: str, text: str, environ: Mapping[str, str]) -> Any:
    if column == "client_secret":
        return _secret(text, environ)
    if column == "verify_tls":
        if text.lower() not in _BOOLEANS:
            raise CellError(f"must be true or false, got {text!r}")
        return _BOOLEANS[text.lower()]
    if column in ("max_inflight", "min_interval_ms"):
        return parse_integer(text)
    if column == "timeout_s":
        try:
            return float(text)
        except ValueError:
            raise CellError(f"must be a number of seconds, got {text!r}") from None
    return text


def _entry_values(
    row: CsvRow, base_dir: Path, environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column, raw in row.cells.items():
        text = raw.strip()
        if not text:
            continue
        try:
            value = _cell_value(column, text, environ)
        except CellError as exc:
            errors[column] = str(exc)
            continue
        if column == "ca_file":
            try:
                values["ca_pem"] = _ca_pem(text, base_dir)
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


def _entry(row: CsvRow, table: CsvTable, environ: Mapping[str, str]) -> PbxEntry | list[Problem]:
    values, errors = _entry_values(row, table.path.parent, environ)
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


def read_inventory(
    path: str | PathLike[str], environ: Mapping[str, str] | None = None
) -> Inventory:
    """Every entry of an inventory file, or the problems that keep entries out."""
    environ = os.environ if environ is None else environ
    inventory = Inventory()
    first_line: dict[str, int] = {}
    with open_table(path, INVENTORY_COLUMNS) as table:
        name = table.name
        inventory.problems.extend(Problem(name, 1, p.column, p.message) for p in table.problems)
        if not table.problems:
            inventory.problems.extend(
                Problem(name, 1, column, "required column is missing from the header")
                for column in REQUIRED_COLUMNS
                if column not in table.columns
            )
        if inventory.problems:
            inventory.unread = True
            return inventory
        for row in table.rows():
            alias = row.cells.get("pbx", "").strip()
            if alias in first_line:
                inventory.problems.append(
                    Problem(
                        name,
                        row.line,
                        "pbx",
                        f"{alias!r} already defined on line {first_line[alias]}",
                    )
                )
                continue
            if alias:
                first_line[alias] = row.line
                inventory.aliases.add(alias)
            if row.extra_cells:
                inventory.problems.append(
                    Problem(name, row.line, None, "the row has more cells than the header")
                )
                continue
            result = _entry(row, table, environ)
            if isinstance(result, PbxEntry):
                inventory.entries[result.pbx] = result
            else:
                inventory.problems.extend(result)
    return inventory
