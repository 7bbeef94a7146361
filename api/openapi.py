"""The OpenAPI 3.1 document of the API, generated from the models in api.models and api.forms."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import forms, models

REF = "#/components/schemas/{model}"
ANSWERS: tuple[type[BaseModel], ...] = (
    models.ErrorAnswer, models.ValidationAnswer, models.SubmitAnswer, models.RetryAnswer,
    models.JobsAnswer, models.JobStatus, models.ItemsPage, models.HealthAnswer,
)  # fmt: skip
JOB_ID = {
    "name": "job_id", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "A job id, as submit printed it (e.g. 20261126-101500-3f9a).",
}  # fmt: skip
ERRORS = {
    400: "Unreadable upload or bad parameter", 401: "No bearer token, or a wrong one",
    404: "No such job (unknown, or expired)", 413: "The upload is over the size limit",
    503: "Redis does not answer",
}  # fmt: skip


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }


def _answers(ok: dict[int, dict[str, Any]], *errors: int) -> dict[str, Any]:
    answers = {str(status): answer for status, answer in ok.items()}
    for status in (*errors, 401):
        answers[str(status)] = _json(models.ErrorAnswer, ERRORS[status])
    return answers


def _parameters(query: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = defs.pop(query.__name__)
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": prop,
            "description": prop.pop("description", ""),
            "style": "form",
            "explode": True,
        }
        for name, prop in schema["properties"].items()
    ]


def _form(form: type[BaseModel], defs: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = defs.pop(form.__name__)
    encoding = {name: {"contentType": "text/csv"} for name in forms.file_fields(form)}
    return {
        "required": required,
        "content": {"multipart/form-data": {"schema": schema, "encoding": encoding}},
    }


def _paths(defs: dict[str, Any]) -> dict[str, Any]:
    unprocessable = _json(models.ValidationAnswer, "Invalid rows or inventory")
    csv = {"description": "The report", "content": {"text/csv": {"schema": {"type": "string"}}}}
    no_token: list[dict[str, list[str]]] = []
    return {
        "/api/jobs": {
            "get": {
                "summary": "Recent jobs, newest first (`jobs --json`)",
                "parameters": _parameters(forms.JobsQuery, defs),
                "responses": _answers({200: _json(models.JobsAnswer, "The jobs")}, 400, 503),
            },
            "post": {
                "summary": "Validate an upload and queue its trunks as a job (`submit --json`)",
                "requestBody": _form(forms.JobForm, defs, required=True),
                "responses": _answers(
                    {201: _json(models.SubmitAnswer, "Queued"), 422: unprocessable},
                    400,
                    413,
                    503,
                ),
            },
        },
        "/api/jobs/{job_id}": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "Counts per state of a job (`status --json`)",
                "responses": _answers({200: _json(models.JobStatus, "The status")}, 404, 503),
            },
        },
        "/api/jobs/{job_id}/items": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "A page of the job's report records, in input order",
                "parameters": _parameters(forms.ItemsQuery, defs),
                "responses": _answers({200: _json(models.ItemsPage, "A page")}, 400, 404, 503),
            },
        },
        "/api/jobs/{job_id}/report.csv": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "The report as CSV (`report --format csv`)",
                "parameters": _parameters(forms.ReportQuery, defs),
                "responses": _answers({200: csv}, 400, 404, 503),
            },
        },
        "/api/jobs/{job_id}/retry": {
            "parameters": [JOB_ID],
            "post": {
                "summary": "Re-queue the job's failed items (`retry --json`)",
                "requestBody": _form(forms.RetryForm, defs, required=False),
                "responses": _answers(
                    {200: _json(models.RetryAnswer, "Re-queued"), 422: unprocessable},
                    400,
                    404,
                    413,
                    503,
                ),
            },
        },
        "/healthz": {
            "get": {
                "summary": "Whether the server reaches Redis",
                "security": no_token,
                "responses": {
                    "200": _json(models.HealthAnswer, "Redis answers"),
                    "503": _json(models.HealthAnswer, "Redis does not answer"),
                },
            },
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "security": no_token,
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            },
        },
    }


def openapi_document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route but the status page."""
    _, schemas = models_json_schema(
        [(model, "serialization") for model in ANSWERS]
        + [(model, "validation") for model in (*forms.FORMS, *forms.QUERIES)],
        ref_template=REF,
    )
    defs: dict[str, Any] = schemas["$defs"]
    paths = _paths(defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "trunkctl",
            "version": version,
            "description": "Roll SIP trunks out to fleets of Yeastar P-Series PBXs. Answers "
            "are the JSON objects of the CLI's --json options.",
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
