"""What the API answers to wrong requests: 401, 404, 413, 422 and 400, each as the contract says,
and nothing queued by any of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from pbxsim import SimulatorThread
from tests.api.client import Answer, ApiClient
from tests.api.conftest import TOKEN
from tests.e2e import Rollout, fleet_rows, write_trunks_csv

MIB = 2**20


@pytest.fixture
def files(sim: SimulatorThread, tmp_path: Path) -> tuple[Path, Path]:
    """A valid trunks.csv (one trunk per PBX) and the simulator's inventory."""
    trunks = write_trunks_csv(tmp_path / "trunks.csv", fleet_rows(sim.aliases(), per_pbx=1))
    sim.write_inventory(tmp_path / "pbxs.csv")
    return trunks, tmp_path / "pbxs.csv"


@pytest.fixture
async def job_id(client: ApiClient, files: tuple[Path, Path]) -> str:
    """A job submitted through the API (no worker runs: it stays queued)."""
    answer = await client.upload([files[0]], files[1])
    assert answer.status == 201, answer.text
    return answer.json()["job_id"]


async def test_every_api_route_but_the_document_asks_for_the_token(
    client: ApiClient, job_id: str
) -> None:
    document = (await client.get("api/openapi.json", token=None)).json()
    routes = [
        (method.upper(), path.replace("{job_id}", job_id))
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post") and path.startswith("/api/") and "openapi" not in path
    ]
    assert len(routes) == 6
    for token in (None, "wrong", TOKEN[:-1], TOKEN + "x"):
        for method, path in routes:
            answer = await client.request(method, path, token=token)
            assert answer.status == 401, (method, path, answer.text)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert "bearer token" in answer.json()["error"]
    unknown = await client.get("api/nothing-here", token=None)
    assert unknown.status == 401  # no route is revealed without the token
    for open_path in ("healthz", "api/openapi.json", ""):
        assert (await client.get(open_path, token=None)).status == 200
    lower = await client.get(f"api/jobs/{job_id}", headers={"Authorization": f"bearer {TOKEN}"})
    assert lower.status == 200


async def test_unknown_jobs_are_404(client: ApiClient) -> None:
    for method, path in (
        ("GET", "api/jobs/20990101-000000-abcd"), ("GET", "api/jobs/nope/items"),
        ("GET", "api/jobs/nope/report.csv"), ("POST", "api/jobs/nope/retry"),
        ("GET", "api/jobs/%0d%0aX-Evil:%201"), ("GET", "api/no/such/route"),
    ):  # fmt: skip
        answer = await client.request(method, path)
        assert answer.status == 404, (path, answer.text)
        assert set(answer.json()) == {"error"}
    wrong_method = await client.request("DELETE", "api/jobs")
    assert wrong_method.status == 405
    assert "error" in wrong_method.json()


async def test_an_upload_over_the_limit_is_413_while_it_is_read(
    client: ApiClient, rollout: Rollout, files: tuple[Path, Path], tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(files[0].read_bytes() + b"\n" * (MIB + 1))
    declared = await client.upload([big], files[1])
    assert declared.status == 413
    assert declared.json() == {"error": "the upload is larger than the limit of 1 MiB"}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds as it reads
        yield b'--b\r\nContent-Disposition: form-data; name="trunks"; filename="big.csv"\r\n\r\n'
        for _ in range(20):
            yield b"x" * (MIB // 8)
        yield b"\r\n--b--\r\n"

    streamed = await client.request(
        "POST", "api/jobs", data=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )  # fmt: skip
    assert streamed.status == 413
    assert rollout.store.list_jobs() == []


async def test_invalid_rows_and_inventories_are_422_with_the_validate_object(
    client: ApiClient, files: tuple[Path, Path], tmp_path: Path
) -> None:
    trunks, pbxs = files
    text = trunks.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([text[0], text[1], text[2].replace("udp", "carrier-pigeon")]) + "\n")
    invalid = await client.upload([bad], pbxs)
    assert invalid.status == 422
    assert invalid.json() == {
        "valid": 1, "invalid": 1,
        "errors": [{"file": "bad.csv", "line": 3, "column": "transport", "message": (
            invalid.json()["errors"][0]["message"])}],
    }  # fmt: skip
    assert "carrier-pigeon" in invalid.json()["errors"][0]["message"]

    empty = tmp_path / "empty.csv"
    empty.write_text(text[0] + "\n")
    no_rows = await client.upload([empty], pbxs)
    assert no_rows.status == 422
    assert no_rows.json()["errors"] == [
        {"file": "empty.csv", "line": 1, "column": None, "message": "the batch has no trunk rows"}
    ]

    broken = tmp_path / "inventory.csv"
    broken.write_text(pbxs.read_text().replace("http://", "gopher://", 1))
    bad_inventory = await client.upload([trunks], broken)
    assert bad_inventory.status == 422
    assert [(e["file"], e["column"]) for e in bad_inventory.json()["errors"]] == [
        ("inventory.csv", "base_url")
    ]

    # An upload names no environment variable of the server's: not to read, not to send.
    from_env = tmp_path / "env.csv"
    rows = pbxs.read_text().splitlines()
    secret = rows[1].split(",")[3]
    from_env.write_text("\n".join([rows[0], rows[1].replace(secret, "env:HOME")]) + "\n")
    refused = await client.upload([trunks], from_env, fields={"skip_invalid": "true"})
    assert refused.status == 422
    error = refused.json()["errors"][0]
    assert (error["file"], error["line"], error["column"]) == ("env.csv", 2, "client_secret")
    assert "env: secrets are read only by the CLI" in error["message"]


async def test_bad_requests_are_400_and_name_what_is_wrong(
    client: ApiClient, job_id: str, files: tuple[Path, Path], tmp_path: Path
) -> None:
    trunks, pbxs = files
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(trunks.read_bytes().replace(b"Main", b"M\xe9in"))
    cases = {
        "form field 'dry_run': is not a field of this form": await client.upload(
            [trunks], pbxs, fields={"dry_run": "true"}
        ),
        "form field 'update_existing': must be one of 'true' or 'false'": await client.upload(
            [trunks], pbxs, fields={"update_existing": "yes"}
        ),
        "form field 'skip_invalid': must be one of 'true' or 'false'": await client.upload(
            [trunks], pbxs, fields={"skip_invalid": "yes"}
        ),
        "form field 'label': must not hold control characters": await client.upload(
            [trunks], pbxs, fields={"label": "a\x1b[31mred"}
        ),
        "form field 'trunks': is required": await client.upload([], pbxs),
        "form field 'pbxs': takes one file": await _two_inventories(client, trunks, pbxs),
        "latin1.csv: is not UTF-8 text: line 2": await client.upload([latin1], pbxs),
        "expected a multipart/form-data upload, got application/json": await client.request(
            "POST", "api/jobs", json={"trunks": "x"}
        ),
        "query parameter 'page_size': must be at most 1000": await client.get(
            f"api/jobs/{job_id}/items?page_size=1001"
        ),
        "query parameter 'page': must be at least 1": await client.get(
            f"api/jobs/{job_id}/items?page=0"
        ),
        "query parameter 'page': must be a whole number": await client.get(
            f"api/jobs/{job_id}/items?page=two"
        ),
        "query parameter 'state': must be one of": await client.get(
            f"api/jobs/{job_id}/report.csv?state=lost"
        ),
        "query parameter 'limit': must be at least 1": await client.get("api/jobs?limit=0"),
        "form field 'trunks': is not a field of this form (pbxs)": await client.upload(
            [trunks], path=f"api/jobs/{job_id}/retry"
        ),
    }
    for expected, answer in cases.items():
        assert answer.status == 400, (expected, answer.text)
        assert answer.json()["error"].startswith(expected), answer.json()
    assert [job["job_id"] for job in (await client.get("api/jobs")).json()["jobs"]] == [job_id]


async def _two_inventories(client: ApiClient, trunks: Path, pbxs: Path) -> Answer:
    form = aiohttp.FormData()
    form.add_field("trunks", trunks.read_bytes(), filename="trunks.csv")
    form.add_field("pbxs", pbxs.read_bytes(), filename="a.csv")
    form.add_field("pbxs", pbxs.read_bytes(), filename="b.csv")
    return await client.request("POST", "api/jobs", data=form)
