"""The status page: one server-rendered HTML page, its script and its style sheet.

The page holds no data of its own: its script asks the API (with the token the user enters,
kept in sessionStorage) and polls while a job runs. Nothing is loaded from another host.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from api.backend import ApiConfig
from jobs.labels import MAX_LABEL_CHARS
from jobs.states import ALL_STATES, FINAL_STATES, GOOD_STATES, RETRIED_STATES, State

STATIC = Path(str(resources.files("api") / "static"))


def _display_order() -> list[str]:
    """States as progress bars show them: delivered, not delivered, in progress, waiting."""
    good = [state for state in ALL_STATES if state in GOOD_STATES]
    bad = [state for state in ALL_STATES if state in FINAL_STATES - GOOD_STATES]
    busy = [state for state in ALL_STATES if state not in FINAL_STATES | {State.QUEUED}]
    return [*good, *bad, *busy, State.QUEUED]


def add_routes(app: web.Application, config: ApiConfig) -> None:
    """Serve the page at / and its files under /static/."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("api", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    static = app.router.add_static("/static/", STATIC, name="static", append_version=True)
    page = {
        "script_url": str(static.url_for(filename="app.js")),
        "style_url": str(static.url_for(filename="app.css")),
        "icon_url": str(static.url_for(filename="favicon.svg")),
        "version": config.version,
        "token_required": config.token is not None,
        "max_upload_mb": f"{config.max_upload_bytes / 2**20:g}",
        "max_label_chars": MAX_LABEL_CHARS,
        "states": " ".join(_display_order()),
        "final_states": " ".join(sorted(FINAL_STATES)),
        "good_states": " ".join(sorted(GOOD_STATES)),
        "retried_states": " ".join(sorted(RETRIED_STATES)),
    }

    async def index(request: web.Request) -> web.Response:
        return aiohttp_jinja2.render_template("index.html", request, page)

    app.router.add_get("/", index)
