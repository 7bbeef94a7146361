"""The one place that talks HTTP to a PBX: headers, token, TLS, timeouts, the errcode envelope.

Every transport failure becomes one of `worker.pbx.errors`, with tokens redacted and without its
cause; nothing else in the project catches aiohttp's exceptions.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
from typing import Any

import aiohttp

from trunks.pbx import PbxEntry
from worker.pbx.errors import (
    PbxBadAnswerError,
    PbxBusyError,
    PbxConnectionError,
    PbxError,
    PbxServerError,
    PbxTimeoutError,
    PbxTlsError,
    PbxUnreachableError,
    error_for,
)
from worker.pbx.redaction import redact, redact_values

# Body fields that carry a secret (get_token's client secret, refresh_token's token, a trunk's SIP
# password): a PBX may echo them back in an error answer (40002's invalid_param_list, say).
_SECRET_BODY_FIELDS = ("password", "refresh_token")
# An errcode some firmware sends as a string of digits.
_INTEGER = re.compile(r"-?[0-9]+")


@functools.lru_cache(maxsize=256)
def _ca_context(ca_pem: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem)
    # The chain must lead to this PBX's own CA; its name need not match the address: a PBX's
    # certificate rarely names the address an MSP reaches it at (yeastar-api.md).
    context.check_hostname = False
    return context


def tls_option(entry: PbxEntry) -> ssl.SSLContext | aiohttp.Fingerprint | bool:
    """aiohttp's `ssl=` argument for a PBX: pinned fingerprint, private CA, default, or off."""
    if entry.tls_fingerprint:
        return aiohttp.Fingerprint(bytes.fromhex(entry.tls_fingerprint))
    if entry.ca_pem is not None:
        try:
            return _ca_context(entry.ca_pem)
        except (ssl.SSLError, ValueError) as exc:  # an entry stored unchecked
            raise PbxTlsError(f"{entry.pbx}: its ca_file does not load: {exc}") from None
    return entry.verify_tls


def _tls_failure(
    endpoint: str, exc: aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch
) -> str:
    """What went wrong with the PBX's certificate, readably (never a secret: certificates and
    their fingerprints are public)."""
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        return (
            f"{endpoint}: TLS certificate fingerprint mismatch: pinned SHA-256 "
            f"{exc.expected.hex()}, the PBX showed {exc.got.hex()}"
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = exc.certificate_error
        reason = getattr(error, "verify_message", "") or getattr(error, "reason", "") or error
        return f"{endpoint}: TLS certificate not trusted: {reason}"
    return f"{endpoint}: TLS handshake failed: {getattr(exc, 'reason', '') or type(exc).__name__}"


class PbxClient:
    """Requests to the Yeastar API of one PBX over a shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, entry: PbxEntry, user_agent: str) -> None:
        self._session = session
        self._entry = entry
        self._headers = {"User-Agent": user_agent}
        self._timeout = aiohttp.ClientTimeout(total=entry.timeout_s)
        self._tls = tls_option(entry)

    async def call(
        self,
        method: str,
        endpoint: str,
        *,
        token: str | None = None,
        params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request; the answer's JSON when errcode is 0, else the matching PbxError."""
        query: dict[str, str | int] = dict(params or {})
        if token is not None:
            query["access_token"] = token
        url = f"{self._entry.api_url}/{endpoint}"
        secrets = [token or "", self._entry.client_secret.get_secret_value()]
        secrets += [str(body[field]) for field in _SECRET_BODY_FIELDS if body and field in body]
        failure: type[PbxError] = PbxConnectionError
        try:
            # No redirects: the API never sends one, and following it would change a POST into a
            # GET (answered 10001 at best) and carry the token to wherever it points.
            async with self._session.request(
                method, url, params=query, json=body, headers=self._headers,
                timeout=self._timeout, ssl=self._tls, allow_redirects=False,
            ) as response:  # fmt: skip
                status = response.status
                text = await response.text(errors="replace")
        except (aiohttp.ServerFingerprintMismatch, aiohttp.ClientSSLError) as exc:
            # The PBX cannot prove it is that PBX: no retry will change that (see PbxTlsError).
            failure, message = PbxTlsError, _tls_failure(endpoint, exc)
        except TimeoutError:
            failure = PbxTimeoutError
            message = f"{endpoint}: timed out after {self._timeout.total:g} s"
        except aiohttp.ClientConnectorError as exc:
            failure = PbxUnreachableError
            message = f"{endpoint}: " + redact(f"{type(exc).__name__}: {exc}", secrets)
        except (aiohttp.ClientError, OSError) as exc:
            message = f"{endpoint}: " + redact(f"{type(exc).__name__}: {exc}", secrets)
        else:
            return _envelope(endpoint, status, text, secrets)
        # Not chained, and raised outside the handler so that not even __context__ keeps aiohttp's
        # exception: its message and request_info may carry the URL, token and all.
        raise failure(message) from None


def _envelope(endpoint: str, status: int, text: str, secrets: list[str]) -> dict[str, Any]:
    if status >= 500:
        raise PbxServerError(f"{endpoint}: HTTP {status}", errmsg=f"HTTP {status}")
    if status == 429:
        # Not documented for the PBX itself, but proxies in front of it do say so: back off.
        raise PbxBusyError(f"{endpoint}: HTTP 429 Too Many Requests", errmsg="HTTP 429")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    answer: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    errcode = _errcode(answer.get("errcode"))
    if errcode is None:
        raise PbxBadAnswerError(
            f"{endpoint}: HTTP {status} with no API answer "
            "(a proxy in between, or a wrong base_url or api_path?)",
            errmsg=f"HTTP {status}",
        )
    if errcode != 0:
        # Whatever the PBX echoed back of the request's secrets is scrubbed here, once.
        answer = redact_values(answer, secrets)
        raise error_for(errcode, str(answer.get("errmsg", "")), answer, endpoint=endpoint)
    return answer


def _errcode(value: Any) -> int | None:
    """The answer's errcode as an integer, also when it comes as a string of digits ("-1"):
    dispatch is on the number, and answers are read leniently."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None
