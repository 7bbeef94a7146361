"""The API's answers as pydantic models: they shape every JSON answer and the OpenAPI document.

The shapes are the CLI's own (`validate`, `submit`, `status`, `report`, `retry` and `jobs` with
`--json`): a field here is a field there. Each answer is checked against its model before it
leaves, so the document and the answers cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jobs.operations import JobKind
from jobs.states import State

Outcome = Literal["success", "partial", "failed"]
SubmitProgress = Literal["done", "in progress", "cut short"]


class Answer(BaseModel):
    """A JSON answer. A key the store adds that is not here yet is left out, not a 500: the
    answer stays what the document says (and a test holds the API's status to the CLI's)."""

    model_config = ConfigDict(extra="ignore")


class ErrorAnswer(Answer):
    """Every error but 422: what went wrong, in one line."""

    error: str


class Problem(Answer):
    """One problem found in an input file, as `validate --json` lists it."""

    file: str
    line: int
    column: str | None
    message: str


class ValidationAnswer(Answer):
    """The `validate --json` object: the 422 answer of an upload with problems."""

    valid: int
    invalid: int
    errors: list[Problem]


class SubmitAnswer(Answer):
    """The `submit --json` object, and the problems of the rows rejected by `skip_invalid`."""

    job_id: str
    queued: int
    rejected: int
    errors: list[Problem] = Field(description="The problems of the rejected rows.")


class RetryAnswer(Answer):
    """The `retry --json` object."""

    job_id: str
    requeued: int


class JobSummary(Answer):
    """A job as `jobs --json` lists it."""

    job_id: str
    label: str
    created_at: str | None
    final: bool
    outcome: Outcome | None
    counts: dict[str, int] = Field(description="Items per state, every state present.")
    submit: SubmitProgress = Field(description="Whether the job's submit stored every item.")
    kind: JobKind = Field(
        JobKind.ROLLOUT, description="What the job is for: rollout, plan, apply or rollback."
    )
    source: str | None = Field(
        None, description="The plan an apply job runs, or the job a rollback undoes."
    )


class JobsAnswer(Answer):
    """The `jobs --json` object: the most recent jobs, newest first."""

    jobs: list[JobSummary]


class JobStatus(JobSummary):
    """The `status --json` object."""

    total: int
    pbxs: dict[str, dict[str, int]] = Field(description="Per PBX alias, its items per state.")


class ReportRecord(Answer):
    """One trunk of a job, as `report --format json` has it: never a secret."""

    file: str
    line: int
    pbx: str
    name: str
    type: str
    state: State
    trunk_id: int | None
    attempts: int
    errcode: int | None
    errmsg: str | None
    detail: Any = Field(
        description="The PBX's invalid_param_list, a rejected row's problems, the fields an "
        "update changed ({field: {old, new}}, passwords as ***), or a plan row."
    )
    finished_at: str | None


class ItemsPage(Answer):
    """One page of a job's report records."""

    items: list[ReportRecord]
    total: int = Field(description="Items that match the filter, on every page.")
    page: int
    page_size: int


class HealthAnswer(Answer):
    """Whether the server reaches Redis."""

    ok: bool
