"""What requests send: the upload forms and the query parameters, as pydantic models.

Each model checks its request and describes it in the OpenAPI document; a field added here (the
upload's `update_existing`, say) is taken, checked and documented at once. Unknown form fields
are refused (a misspelt option must not be ignored silently); unknown query parameters are not
(browsers and proxies add their own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from multidict import MultiMapping
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)

from api.errors import BadRequestError
from jobs.labels import MAX_LABEL_CHARS, PRINTABLE
from jobs.states import State
from producer.named_path import NamedPath

MAX_PAGE_SIZE = 1000
M = TypeVar("M", bound=BaseModel)


def _uploaded(value: Any) -> NamedPath:
    if not isinstance(value, NamedPath):
        raise ValueError("must be a file")  # noqa: TRY004 - pydantic reports ValueError only
    return value


FILE_SCHEMA = WithJsonSchema({"type": "string", "format": "binary"})
UploadedFile = Annotated[NamedPath, PlainValidator(_uploaded), FILE_SCHEMA]
# Left out of the form when not sent (a multipart form has no null).
OptionalFile = Annotated[NamedPath | None, PlainValidator(_uploaded), FILE_SCHEMA]


class JobForm(BaseModel):
    """The multipart form of POST /api/jobs (what `trunkctl submit` takes)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    trunks: list[UploadedFile] = Field(min_length=1, description="Trunks CSV files.")
    pbxs: OptionalFile = Field(
        None, description="Inventory CSV; optional when every alias is stored."
    )
    label: str = Field("", max_length=MAX_LABEL_CHARS, pattern=PRINTABLE)
    skip_invalid: Literal["true", "false"] = Field(
        "false", description="true: queue the valid rows, record the others as rejected."
    )
    update_existing: Literal["true", "false"] = Field(
        "false",
        description="true: a trunk already on the PBX gets the fields of its row that differ "
        "(it ends updated, or exists when nothing differed), as `submit --update-existing`.",
    )


class RetryForm(BaseModel):
    """The multipart form of POST /api/jobs/{job_id}/retry (what `trunkctl retry` takes)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    pbxs: OptionalFile = Field(
        None, description="Corrected inventory CSV: replaces the stored entries of its aliases."
    )


class JobsQuery(BaseModel):
    """Query parameters of GET /api/jobs."""

    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description="How many recent jobs.")


class ReportQuery(BaseModel):
    """Query parameters of GET /api/jobs/{job_id}/report.csv."""

    state: list[State] = Field([], description="Only items in these states (repeatable).")


class ItemsQuery(ReportQuery):
    """Query parameters of GET /api/jobs/{job_id}/items."""

    pbx: str = Field("", max_length=MAX_LABEL_CHARS, description="Only this PBX's items.")
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=MAX_PAGE_SIZE)


def _holds_file(annotation: Any) -> bool:
    return annotation is NamedPath or any(_holds_file(arg) for arg in get_args(annotation))


def file_fields(form: type[BaseModel]) -> dict[str, bool]:
    """The form's file fields, each with whether it takes several files."""
    return {
        name: get_origin(field.annotation) is list
        for name, field in form.model_fields.items()
        if _holds_file(field.annotation)
    }


FORMS: tuple[type[BaseModel], ...] = (JobForm, RetryForm)
QUERIES: tuple[type[BaseModel], ...] = (JobsQuery, ReportQuery, ItemsQuery)
_MESSAGES = {
    "string_pattern_mismatch": "must not hold control characters",
    "string_too_long": "must be at most {max_length} characters",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "value_error": "{error}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "extra_forbidden": "is not a field of this form",
    "too_short": "is required",
    "missing": "is required",
}


def _message(error: Mapping[str, Any]) -> str:
    """A pydantic error in a line (never with the input)."""
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"]).lower()
    return template.format(**(error.get("ctx") or {}))


def checked(model: type[M], values: Mapping[str, Any], what: str) -> M:
    """`values` as `model`; a BadRequestError naming the first bad field otherwise."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in error["loc"][:1]) or "?"
        raise BadRequestError(f"{what} {field!r}: {_message(error)}") from None


def query_values(model: type[BaseModel], query: MultiMapping[str]) -> dict[str, Any]:
    """The model's fields from a query string: lists repeat their name, an empty value counts
    as absent, and any other parameter given twice is a BadRequestError."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        found = [value for value in query.getall(name, []) if value]
        if get_origin(field.annotation) is list:
            values[name] = found
        elif len(found) > 1:
            raise BadRequestError(f"query parameter {name!r}: is given more than once")
        elif found:
            values[name] = found[0]
    return {name: value for name, value in values.items() if value}
