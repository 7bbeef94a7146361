"""Where the status page is: `trunkctl serve` keeps its URL in Redis while it runs, so that other
commands (`run`, `demo`) can point at it."""

from __future__ import annotations

import redis

from core import keys
from jobs.locks import UNLOCK_LUA

# The URL outlives a killed server by this long at most; a running one renews it 3 times as often.
ANNOUNCE_TTL_S = 30
RENEW_EVERY_S = ANNOUNCE_TTL_S / 3


def serving_url(client: redis.Redis) -> str | None:
    """The status page's URL while a `trunkctl serve` runs on this Redis, else None."""
    url = client.get(keys.SERVE_URL)
    if url is None:
        return None
    return url.decode() if isinstance(url, bytes) else str(url)


class Announcement:
    """One server's URL in Redis: `renew` it while serving, `withdraw` it when stopping."""

    def __init__(self, client: redis.Redis, url: str) -> None:
        self._client = client
        self.url = url

    def renew(self) -> None:
        """Say (again) that the page is served at this URL."""
        self._client.set(keys.SERVE_URL, self.url, ex=ANNOUNCE_TTL_S)

    def withdraw(self) -> None:
        """Take the URL back, unless another server has announced its own since."""
        self._client.eval(UNLOCK_LUA, 1, keys.SERVE_URL, self.url)
