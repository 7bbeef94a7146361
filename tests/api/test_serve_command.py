"""`trunkctl serve` itself: the token it insists on, loopback without one, the page's URL kept
in Redis while it runs."""

from __future__ import annotations

import socket
import urllib.request

import redis

from api import serving_url
from core import keys
from tests.api.conftest import ServeFactory
from tests.e2e import Rollout

NO_TOKEN = {"TRUNKCTL_API_TOKEN": ""}


def test_it_refuses_to_start_without_a_token(serve: ServeFactory) -> None:
    process = serve(env=NO_TOKEN)
    assert process.wait_exit() == 2
    assert process.output().startswith("error: TRUNKCTL_API_TOKEN is not set: set it to a long")
    assert "--insecure-no-token" in process.output()


def test_without_a_token_it_serves_loopback_only(serve: ServeFactory, rollout: Rollout) -> None:
    refused = serve("--insecure-no-token", "--host", "0.0.0.0", env=NO_TOKEN)  # noqa: S104
    assert refused.wait_exit() == 2
    assert "--insecure-no-token serves on loopback only, not on '0.0.0.0'" in refused.output()

    process = serve("--insecure-no-token", "--host", "127.0.0.1", env=NO_TOKEN)
    url = process.wait_ready()
    with urllib.request.urlopen(f"{url}api/jobs", timeout=10) as answer:  # noqa: S310 - ours
        assert answer.status == 200
        assert answer.read() == b'{"jobs": []}'


def test_the_page_url_is_kept_in_redis_while_serving(serve: ServeFactory, rollout: Rollout) -> None:
    client = redis.Redis.from_url(rollout.redis_url)
    assert serving_url(client) is None
    process = serve()
    url = process.wait_ready()
    assert url.startswith("http://127.0.0.1:")
    assert serving_url(client) == url
    assert 0 < client.ttl(keys.SERVE_URL) <= 30
    assert process.stop() == 0
    assert serving_url(client) is None
    client.close()


def test_a_taken_port_is_one_line(serve: ServeFactory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        process = serve("--port", port)
        assert process.wait_exit() == 2
    assert process.output().startswith(f"error: 127.0.0.1:{port}: ")
    assert "Traceback" not in process.output()
