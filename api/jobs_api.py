"""The /api/jobs routes: submit, list, status, items, report and retry, as the CLI does them.

Every route reads and writes the job store the CLI uses, through the producer's own Submitter,
on the backend's thread pool (the producer and redis-py block).
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from aiohttp import web

from api import forms, models
from api.backend import Backend, answer, backend
from api.errors import NotFoundError
from api.uploads import received_form
from jobs.operations import Op
from jobs.report_csv import write_report_csv
from producer.submit import Submitter
from trunks.cells import CellError

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CSV_CHUNK_CHARS = 64 * 1024


class NoEnvironment(Mapping[str, str]):
    """The environment an uploaded inventory's `env:NAME` secrets are read from: none. The
    server's variables are not the uploader's to read, nor to send to a PBX of their choosing."""

    def __getitem__(self, name: str) -> NoReturn:
        raise CellError(
            "env: secrets are read only by the CLI, from its own environment: "
            "upload the secret itself"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _submitter(api: Backend) -> Submitter:
    return Submitter(api.store, api.queue, environ=NoEnvironment())


def _job_id(request: web.Request) -> str:
    job_id = request.match_info["job_id"]
    if not JOB_ID.fullmatch(job_id):
        raise NotFoundError(f"no job {job_id!r} (unknown, or expired)")
    return job_id


async def _missing(api: Backend, job_id: str) -> NotFoundError:
    """Why there is no such job, as the CLI says it (expired, lost with Redis's data...)."""
    return NotFoundError(await api.call(api.store.why_missing, job_id))


def _problems(problems: Any) -> list[dict[str, Any]]:
    return [problem.as_json() for problem in problems]


async def submit_job(request: web.Request) -> web.Response:
    """POST /api/jobs: validate the upload; queue it as a job (201) or say why not (422)."""
    api = backend(request)
    async with received_form(request, forms.JobForm, api.config.max_upload_bytes) as values:
        form = forms.checked(forms.JobForm, values, "form field")
        result = await api.call(
            _submitter(api).submit, form.trunks, form.pbxs,
            skip_invalid=form.skip_invalid == "true", label=form.label,
            op=Op.UPSERT if form.update_existing == "true" else Op.CREATE,
        )  # fmt: skip
    if result.job_id is None:
        return answer(models.ValidationAnswer, result.report.as_json(), status=422)
    submitted = {**result.as_json(), "errors": _problems(result.report.problems)}
    return answer(models.SubmitAnswer, submitted, status=201)


async def list_jobs(request: web.Request) -> web.Response:
    """GET /api/jobs: the `jobs --json` object."""
    query = forms.checked(
        forms.JobsQuery, forms.query_values(forms.JobsQuery, request.query), "query parameter"
    )
    api = backend(request)
    return answer(models.JobsAnswer, {"jobs": await api.call(api.store.list_jobs, query.limit)})


async def job_status(request: web.Request) -> web.Response:
    """GET /api/jobs/{job_id}: the `status --json` object."""
    job_id = _job_id(request)
    api = backend(request)
    status = await api.call(api.store.status, job_id)
    if status is None:
        raise await _missing(api, job_id)
    return answer(models.JobStatus, status)


async def job_items(request: web.Request) -> web.Response:
    """GET /api/jobs/{job_id}/items: a page of report records, filtered by state and PBX."""
    job_id = _job_id(request)
    query = forms.checked(
        forms.ItemsQuery, forms.query_values(forms.ItemsQuery, request.query), "query parameter"
    )
    api = backend(request)
    found = await api.call(
        api.store.item_page, job_id, (query.page - 1) * query.page_size, query.page_size,
        states={state.value for state in query.state}, pbx=query.pbx,
    )  # fmt: skip
    if found is None:
        raise await _missing(api, job_id)
    records, total = found
    page = {"items": records, "total": total, "page": query.page, "page_size": query.page_size}
    return answer(models.ItemsPage, page)


class _StreamedText(io.StringIO):
    """Text written on a worker thread, sent to the response a chunk at a time (each write waits
    for the client: a slow reader holds the writer back, not the server's memory)."""

    def __init__(self, response: web.StreamResponse, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._response = response
        self._loop = loop

    def write(self, text: str) -> int:
        count = super().write(text)
        if self.tell() >= CSV_CHUNK_CHARS:
            self.send()
        return count

    def send(self) -> None:
        """Send what has gathered."""
        data = self.getvalue().encode("utf-8")
        self.seek(0)
        self.truncate()
        asyncio.run_coroutine_threadsafe(self._response.write(data), self._loop).result()


async def report_csv(request: web.Request) -> web.StreamResponse:
    """GET /api/jobs/{job_id}/report.csv: the `report --format csv` file, streamed."""
    job_id = _job_id(request)
    query = forms.checked(
        forms.ReportQuery, forms.query_values(forms.ReportQuery, request.query), "query parameter"
    )
    api = backend(request)
    if await api.call(api.store.job, job_id) is None:
        raise await _missing(api, job_id)
    states = {state.value for state in query.state}
    response = web.StreamResponse(
        headers={"Content-Disposition": f'attachment; filename="trunkctl-{job_id}.csv"'}
    )
    response.content_type = "text/csv"
    response.charset = "utf-8"
    await response.prepare(request)
    out = _StreamedText(response, asyncio.get_running_loop())

    def write() -> None:
        records = api.store.items(job_id)
        write_report_csv((r for r in records if not states or r["state"] in states), out)
        out.send()

    try:
        await api.call(write)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away: nothing left to tell it
    return response


async def retry_job(request: web.Request) -> web.Response:
    """POST /api/jobs/{job_id}/retry: re-queue the failed items, with an optional corrected
    inventory (422 when it has problems)."""
    job_id = _job_id(request)
    api = backend(request)
    if await api.call(api.store.job, job_id) is None:
        raise await _missing(api, job_id)
    async with received_form(request, forms.RetryForm, api.config.max_upload_bytes) as values:
        form = forms.checked(forms.RetryForm, values, "form field")
        result = await api.call(_submitter(api).retry, job_id, form.pbxs)
    if result.requeued is None:
        refused = {"valid": 0, "invalid": 0, "errors": _problems(result.problems)}
        return answer(models.ValidationAnswer, refused, status=422)
    return answer(models.RetryAnswer, result.as_json())


def add_routes(app: web.Application) -> None:
    """Add the /api/jobs routes."""
    app.router.add_post("/api/jobs", submit_job)
    app.router.add_get("/api/jobs", list_jobs)
    app.router.add_get("/api/jobs/{job_id}", job_status)
    app.router.add_get("/api/jobs/{job_id}/items", job_items)
    app.router.add_get("/api/jobs/{job_id}/report.csv", report_csv)
    app.router.add_post("/api/jobs/{job_id}/retry", retry_job)
