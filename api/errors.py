"""Errors of the HTTP API: each one an HTTP status and a message safe to show."""

from __future__ import annotations

from core.errors import TrunkctlError


class ApiError(TrunkctlError):
    """Raised by a route to answer `{"error": message}` with `status`."""

    status = 500


class BadRequestError(ApiError):
    """Raised for an unreadable upload or a bad parameter (400)."""

    status = 400


class UnauthorizedError(ApiError):
    """Raised when a request to /api has no bearer token, or a wrong one (401)."""

    status = 401


class NotFoundError(ApiError):
    """Raised for an unknown (or expired) job (404)."""

    status = 404


class UploadTooLargeError(ApiError):
    """Raised when a request's body passes the upload limit (413)."""

    status = 413

    def __init__(self, max_bytes: int) -> None:
        limit = f"{max_bytes / 2**20:g} MiB" if max_bytes >= 2**20 else f"{max_bytes} bytes"
        super().__init__(f"the upload is larger than the limit of {limit}")
