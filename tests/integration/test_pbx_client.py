"""PbxClient over real HTTP: the simulator, small aiohttp servers, refused and hung connections.

Every failure must come out as one of worker.pbx.errors, with the token nowhere in its text nor
in its exception chain.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pbxsim import AsyncSimulator, SimSettings
from tests.redis_server import free_port
from tests.sim_fixtures import register_body
from tests.tls_certificates import self_signed
from trunks.pbx import PbxEntry
from worker.pbx.client import PbxClient, tls_option
from worker.pbx.errors import (
    PbxAuthError,
    PbxBadAnswerError,
    PbxBusyError,
    PbxConnectionError,
    PbxDuplicateError,
    PbxError,
    PbxRejectedError,
    PbxServerError,
    PbxTlsError,
    PbxTokenExpiredError,
    PbxUnreachableError,
    PbxUnusableError,
)

PBX = "pbx-001"
USER_AGENT = "trunkctl-tests/1.0"
TOKEN = "tok-5ecret-0123456789abcdef"
SECRET = "client-5ecret-value-42"
SEEN = web.AppKey("seen", list[dict[str, Any]])


def _entry(base_url: str, **fields: Any) -> PbxEntry:
    values: dict[str, Any] = {
        "pbx": "p1",
        "base_url": base_url,
        "client_id": "cid",
        "client_secret": SECRET,
        **fields,
    }
    return PbxEntry(**values)


def _sim_entry(sim: AsyncSimulator, alias: str = PBX) -> PbxEntry:
    row = next(row for row in sim.inventory_rows() if row["pbx"] == alias)
    return _entry(row["base_url"], client_id=row["client_id"], client_secret=row["client_secret"])


def _chain_text(exc: BaseException) -> str:
    """Everything an error reporter could print about the exception and what it came from."""
    parts = ["".join(traceback.format_exception(exc)), str(exc), repr(exc)]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts += [str(linked), repr(linked), "".join(traceback.format_exception(linked))]
    return "\n".join(parts)


def _assert_secret_free(exc: PbxError) -> None:
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    text = _chain_text(exc)
    assert TOKEN not in text
    assert SECRET not in text


@pytest.fixture
async def sim() -> AsyncIterator[AsyncSimulator]:
    async with AsyncSimulator(SimSettings(pbx_count=1)) as simulator:
        yield simulator


async def _login(client: PbxClient, entry: PbxEntry) -> str:
    answer = await client.call(
        "POST",
        "get_token",
        body={"username": entry.client_id, "password": entry.client_secret.get_secret_value()},
    )
    token: str = answer["access_token"]
    return token


# --- against the simulator ---------------------------------------------------------------------


async def test_success_envelope_is_returned_whole(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    answer = await client.call(
        "POST",
        "get_token",
        body={"username": entry.client_id, "password": entry.client_secret.get_secret_value()},
    )
    assert answer["errcode"] == 0
    assert answer["access_token"]
    assert answer["access_token_expire_time"] == 1800
    assert sim.counters(PBX)["logins_ok"] == 1


async def test_user_agent_is_sent_and_needed(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    body = {"username": entry.client_id, "password": entry.client_secret.get_secret_value()}
    # The same request without a User-Agent: the PBX refuses it with 40002.
    async with session.post(
        f"{entry.api_url}/get_token", json=body, skip_auto_headers=("User-Agent",)
    ) as response:
        raw = await response.json(content_type=None)
    assert raw["errcode"] == 40002
    answer = await PbxClient(session, entry, USER_AGENT).call("POST", "get_token", body=body)
    assert answer["errcode"] == 0


async def test_token_in_the_query_string_works_and_its_absence_is_10004(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    token = await _login(client, entry)
    answer = await client.call("GET", "trunk/list", token=token, params={"page": 1})
    assert answer["total_number"] == 0
    with pytest.raises(PbxTokenExpiredError) as missing:
        await client.call("GET", "trunk/list")
    assert missing.value.errcode == 10004
    assert missing.value.transient
    with pytest.raises(PbxTokenExpiredError):
        await client.call("GET", "trunk/list", token="not-a-token")


async def test_wrong_method_is_rejected_with_10001(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    token = await _login(client, entry)
    with pytest.raises(PbxRejectedError) as info:
        await client.call("GET", "trunk/create", token=token)
    assert info.value.errcode == 10001
    assert not info.value.transient
    assert not info.value.may_have_applied


async def test_invalid_create_carries_invalid_param_list(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    token = await _login(client, entry)
    with pytest.raises(PbxRejectedError) as info:
        await client.call(
            "POST", "trunk/create", token=token, body=register_body("office", port=99999)
        )
    assert info.value.errcode == 40002
    assert isinstance(info.value.detail, list)
    assert any("port" in problem["field"] for problem in info.value.detail)
    assert sim.trunks(PBX) == []


async def test_duplicate_name_is_a_duplicate_error(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    token = await _login(client, entry)
    created = await client.call("POST", "trunk/create", token=token, body=register_body("office"))
    assert isinstance(created["id"], int)
    with pytest.raises(PbxDuplicateError) as info:
        await client.call("POST", "trunk/create", token=token, body=register_body("office"))
    assert info.value.errcode == 40003
    assert info.value.detail == [{"field": "name", "value": "office"}]
    assert len(sim.trunks(PBX)) == 1


async def test_simulated_proxy_503_is_a_transient_server_error(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    token = await _login(client, entry)
    sim.set_faults([{"endpoint": "trunk/create", "kind": "http503"}])
    with pytest.raises(PbxServerError) as info:
        await client.call("POST", "trunk/create", token=token, body=register_body("office"))
    assert info.value.transient
    assert info.value.may_have_applied


async def test_dropped_connection_is_a_connection_error_without_the_token(
    sim: AsyncSimulator, session: aiohttp.ClientSession
) -> None:
    entry = _sim_entry(sim)
    client = PbxClient(session, entry, USER_AGENT)
    sim.set_faults([{"endpoint": "trunk/create", "kind": "drop_after"}])
    with pytest.raises(PbxConnectionError) as info:
        await client.call("POST", "trunk/create", token=TOKEN, body=register_body("office"))
    assert info.value.transient
    assert info.value.may_have_applied
    _assert_secret_free(info.value)


# --- against small aiohttp servers ---------------------------------------------------------------


@pytest.fixture
async def odd_server() -> AsyncIterator[TestServer]:
    """A web server answering the ways a proxy or a wrong base URL would."""
    seen: list[dict[str, Any]] = []

    async def unavailable(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="<html>503 Service Unavailable</html>")

    async def too_many(_request: web.Request) -> web.Response:
        return web.Response(status=429, text="slow down")

    async def html(_request: web.Request) -> web.Response:
        return web.Response(text="<html>login page</html>", content_type="text/html")

    async def no_errcode(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def text_errcode(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": "OK", "errmsg": "SUCCESS"})

    async def string_success(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": "0", "errmsg": "SUCCESS", "id": 7})

    async def string_refusal(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": " -1", "errmsg": "FAILURE"})

    async def a_list(_request: web.Request) -> web.Response:
        return web.json_response([{"errcode": 0}])

    async def error_with_http_400(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 40002, "errmsg": "PARAMETER ERROR"}, status=400)

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.json_response({"errcode": 0})

    async def echo_refused(request: web.Request) -> web.Response:
        # A PBX that quotes the request back in its refusal: every value, in errmsg and detail.
        values = [str(v) for v in {**request.query, **(await request.json())}.values()]
        return web.json_response(
            {
                "errcode": 40002,
                "errmsg": f"PARAMETER ERROR: {' '.join(values)}",
                "invalid_param_list": [{"field": v, "value": v} for v in values],
            }
        )

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPFound(location="/api/echo-after-redirect")

    async def echo(request: web.Request) -> web.Response:
        seen.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "user_agent": request.headers.get("User-Agent"),
                "body": await request.json() if request.can_read_body else None,
            }
        )
        return web.json_response({"errcode": 0, "errmsg": "SUCCESS"})

    app = web.Application()
    app.router.add_get("/api/unavailable", unavailable)
    app.router.add_get("/api/too_many", too_many)
    app.router.add_get("/api/html", html)
    app.router.add_get("/api/no_errcode", no_errcode)
    app.router.add_get("/api/text_errcode", text_errcode)
    app.router.add_get("/api/string_success", string_success)
    app.router.add_get("/api/string_refusal", string_refusal)
    app.router.add_get("/api/a_list", a_list)
    app.router.add_get("/api/http400", error_with_http_400)
    app.router.add_get("/api/slow", slow)
    app.router.add_post("/api/echo_refused", echo_refused)
    app.router.add_post("/api/redirect", redirect)
    app.router.add_route("*", "/{tail:.*}", echo)
    app[SEEN] = seen
    server = TestServer(app)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def _odd_client(session: aiohttp.ClientSession, server: TestServer, **fields: Any) -> PbxClient:
    entry = _entry(str(server.make_url("")).rstrip("/"), api_path="api", **fields)
    return PbxClient(session, entry, USER_AGENT)


async def test_http_503_is_a_transient_server_error(
    odd_server: TestServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxServerError) as info:
        await _odd_client(session, odd_server).call("GET", "unavailable", token=TOKEN)
    assert info.value.transient
    assert info.value.may_have_applied
    assert "503" in str(info.value)
    assert TOKEN not in str(info.value)


async def test_http_429_from_a_proxy_is_busy_and_retried(
    odd_server: TestServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxBusyError) as info:
        await _odd_client(session, odd_server).call("GET", "too_many", token=TOKEN)
    assert info.value.transient
    assert not info.value.may_have_applied


@pytest.mark.parametrize("endpoint", ["html", "no_errcode", "text_errcode", "a_list"])
async def test_answers_without_an_int_errcode_are_bad_answers(
    odd_server: TestServer, session: aiohttp.ClientSession, endpoint: str
) -> None:
    with pytest.raises(PbxBadAnswerError) as info:
        await _odd_client(session, odd_server).call("GET", endpoint, token=TOKEN)
    assert not info.value.transient
    assert "HTTP 200" in str(info.value)


async def test_an_errcode_sent_as_a_string_of_digits_is_read_as_its_number(
    odd_server: TestServer, session: aiohttp.ClientSession
) -> None:
    # Some firmware quotes the errcode: "-1" is still a refused login (a strike toward the IP
    # block, never to be retried), not an answer that makes no sense.
    client = _odd_client(session, odd_server)
    assert (await client.call("GET", "string_success", token=TOKEN))["id"] == 7
    with pytest.raises(PbxAuthError) as info:
        await client.call("GET", "string_refusal", token=TOKEN)
    assert info.value.errcode == -1


async def test_404_text_is_a_bad_answer(session: aiohttp.ClientSession) -> None:
    # An unknown PBX prefix on the simulator: aiohttp's plain-text 404 page.
    async with AsyncSimulator(SimSettings(pbx_count=1)) as sim:
        entry = _entry(f"{sim.root_url}/pbx-999")
        with pytest.raises(PbxBadAnswerError) as info:
            await PbxClient(session, entry, USER_AGENT).call("GET", "trunk/list", token=TOKEN)
    assert "HTTP 404" in str(info.value)


@pytest.mark.parametrize(
    ("token", "body"),
    [
        pytest.param(None, {"username": "cid", "password": SECRET}, id="get_token"),
        pytest.param(None, {"refresh_token": "refresh-5ecret-77"}, id="refresh_token"),
        pytest.param(TOKEN, {"name": "t1", "password": 'Tr"unk\\Pw1x'}, id="trunk-password"),
    ],
)
async def test_secrets_a_pbx_echoes_back_are_scrubbed_from_its_error(
    odd_server: TestServer,
    session: aiohttp.ClientSession,
    token: str | None,
    body: dict[str, Any],
) -> None:
    with pytest.raises(PbxRejectedError) as info:
        await _odd_client(session, odd_server).call("POST", "echo_refused", token=token, body=body)
    secrets = [SECRET, TOKEN, *(body[key] for key in ("password", "refresh_token") if key in body)]
    stored = json.dumps([info.value.errmsg, info.value.detail, str(info.value)])
    seen = [secret for secret in secrets if secret in stored or json.dumps(secret)[1:-1] in stored]
    assert not seen
    assert info.value.errmsg.startswith("PARAMETER ERROR: ")
    assert {"field": "***", "value": "***"} in info.value.detail


async def test_a_redirect_is_not_followed(
    odd_server: TestServer, session: aiohttp.ClientSession
) -> None:
    # Following it would turn the POST into a GET and carry the token to wherever it points.
    with pytest.raises(PbxBadAnswerError) as info:
        await _odd_client(session, odd_server).call(
            "POST", "redirect", token=TOKEN, body={"name": "t1"}
        )
    assert "HTTP 302" in str(info.value)
    assert odd_server.app[SEEN] == []


async def test_errcode_on_a_non_200_answer_is_still_dispatched(
    odd_server: TestServer, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(PbxRejectedError) as info:
        await _odd_client(session, odd_server).call("GET", "http400", token=TOKEN)
    assert info.value.errcode == 40002


async def test_timeout_is_a_connection_error_without_the_token(
    odd_server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = _odd_client(session, odd_server, timeout_s=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(PbxConnectionError) as info:
        await client.call("GET", "slow", token=TOKEN)
    assert loop.time() - started < 0.18  # gave up at the entry's timeout, not the server's pace
    assert info.value.transient
    assert info.value.may_have_applied
    _assert_secret_free(info.value)


async def test_connection_refused_is_unreachable_and_never_sent_without_the_token(
    session: aiohttp.ClientSession,
) -> None:
    entry = _entry(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PbxUnreachableError) as info:
        await PbxClient(session, entry, USER_AGENT).call("POST", "trunk/create", token=TOKEN)
    assert info.value.transient
    assert not info.value.may_have_applied  # no connection: no create to look up later
    _assert_secret_free(info.value)


async def test_garbage_answer_leaves_no_token_in_the_exception_chain(
    session: aiohttp.ClientSession,
) -> None:
    # aiohttp's ClientResponseError for an unparsable answer carries the request URL, token and
    # all: it must not survive as the cause or context of the error the worker sees.
    async def answer_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(answer_garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        entry = _entry(f"http://127.0.0.1:{port}")
        with pytest.raises(PbxConnectionError) as info:
            await PbxClient(session, entry, USER_AGENT).call("GET", "trunk/list", token=TOKEN)
    finally:
        server.close()
        await server.wait_closed()
    assert "access_token=***" in str(info.value)
    assert info.value.__context__ is None
    _assert_secret_free(info.value)


@pytest.mark.parametrize(
    ("base_path", "api_path", "expected_path"),
    [
        ("/proxy/pbx7", "openapi/v1.0", "/proxy/pbx7/openapi/v1.0/trunk/list"),
        ("/proxy/pbx7/", "/custom/api/", "/proxy/pbx7/custom/api/trunk/list"),
        ("", "openapi/v1.0", "/openapi/v1.0/trunk/list"),
        ("/direct", "", "/direct/trunk/list"),
    ],
)
async def test_url_is_base_url_prefix_then_api_path_then_endpoint(
    odd_server: TestServer,
    session: aiohttp.ClientSession,
    base_path: str,
    api_path: str,
    expected_path: str,
) -> None:
    entry = _entry(str(odd_server.make_url(base_path)), api_path=api_path)
    client = PbxClient(session, entry, USER_AGENT)
    await client.call("GET", "trunk/list", token=TOKEN, params={"page": 2, "search_value": "a b"})
    await client.call("POST", "trunk/create", body={"name": "office"})
    first, second = odd_server.app[SEEN]
    assert first["path"] == expected_path
    assert first["query"] == {"page": "2", "search_value": "a b", "access_token": TOKEN}
    assert first["user_agent"] == USER_AGENT
    assert second["query"] == {}  # no token, no access_token parameter
    assert second["body"] == {"name": "office"}


# --- TLS ----------------------------------------------------------------------------------------


def test_tls_option_prefers_fingerprint_then_ca_then_verify_flag() -> None:
    fingerprint = "AB:" * 31 + "CD"
    pinned = tls_option(_entry("https://pbx", tls_fingerprint=fingerprint, verify_tls=False))
    assert isinstance(pinned, aiohttp.Fingerprint)
    assert tls_option(_entry("https://pbx")) is True
    assert tls_option(_entry("https://pbx", verify_tls=False)) is False


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A self-signed certificate for 127.0.0.1: (cert file, key file, SHA-256 hex)."""
    made = self_signed(tmp_path_factory.mktemp("tls"))
    return made.cert_file, made.key_file, made.sha256


@pytest.fixture
async def tls_server(certificate: tuple[Path, Path, str]) -> AsyncIterator[TestServer]:
    cert_file, key_file, _ = certificate

    async def echo(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "SUCCESS"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = TestServer(app)
    await server.start_server(ssl=context)
    try:
        yield server
    finally:
        await server.close()


def _tls_client(session: aiohttp.ClientSession, server: TestServer, **fields: Any) -> PbxClient:
    return PbxClient(session, _entry(f"https://127.0.0.1:{server.port}", **fields), USER_AGENT)


async def test_tls_pinned_fingerprint_ca_file_and_verification_off_connect(
    tls_server: TestServer,
    session: aiohttp.ClientSession,
    certificate: tuple[Path, Path, str],
) -> None:
    cert_file, _, digest = certificate
    options: list[dict[str, Any]] = [
        {"tls_fingerprint": ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()},
        {"ca_pem": cert_file.read_text()},
        {"verify_tls": False},
    ]
    for fields in options:
        answer = await _tls_client(session, tls_server, **fields).call("GET", "x", token=TOKEN)
        assert answer["errcode"] == 0, fields


@pytest.mark.parametrize(
    "fields",
    [
        {},  # default verification: a self-signed certificate is refused
        {"tls_fingerprint": "00" * 32},  # pinned to another certificate
    ],
)
async def test_tls_untrusted_certificate_is_a_tls_error(
    tls_server: TestServer,
    session: aiohttp.ClientSession,
    fields: dict[str, Any],
) -> None:
    # Fatal for the PBX (no retry changes a certificate), and said readably.
    with pytest.raises(PbxTlsError) as info:
        await _tls_client(session, tls_server, **fields).call("GET", "x", token=TOKEN)
    assert isinstance(info.value, PbxUnusableError)
    message = str(info.value)
    assert re.fullmatch(
        r"x: TLS certificate (not trusted: self-signed certificate|fingerprint mismatch: "
        r"pinned SHA-256 0{64}, the PBX showed [0-9a-f]{64})",
        message,
    ), message
    _assert_secret_free(info.value)


async def test_a_ca_file_verifies_the_chain_not_the_name(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # The PBX's certificate names another host than the address it is reached at, as default
    # certificates do: its own CA vouches for it.
    made = self_signed(tmp_path, ip=None, dns="pbx.elsewhere.example")

    async def echo(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "SUCCESS"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(made.cert_file, made.key_file)
    server = TestServer(app)
    await server.start_server(ssl=context)
    try:
        client = _tls_client(session, server, ca_pem=made.cert_file.read_text())
        assert (await client.call("GET", "x", token=TOKEN))["errcode"] == 0
        other = self_signed(tmp_path / "other")  # another CA: refused
        stranger = _tls_client(session, server, ca_pem=other.cert_file.read_text())
        with pytest.raises(PbxTlsError, match="not trusted"):
            await stranger.call("GET", "x", token=TOKEN)
    finally:
        await server.close()


def test_a_stored_ca_that_does_not_load_is_a_tls_error() -> None:
    with pytest.raises(PbxTlsError, match="its ca_file does not load"):
        tls_option(_entry("https://pbx", ca_pem="not a certificate"))
