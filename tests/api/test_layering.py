"""api/ sits below the CLI: it imports neither the CLI package nor the worker, and `serving_url`
(what `run` and `demo` call) loads no web server."""

from __future__ import annotations

import subprocess
import sys

LOADED = "print(sorted({name.split('.')[0] for name in sys.modules}))"


def _loaded(imports: str) -> set[str]:
    code = f"import sys; {imports}; {LOADED}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(eval(done.stdout))  # noqa: S307 - our own subprocess's list of names


def test_the_api_imports_neither_the_cli_nor_the_worker() -> None:
    loaded = _loaded("import api.app, api.server, api.jobs_api, api.pages")
    assert {"api", "producer", "jobs", "aiohttp"} <= loaded
    assert not loaded & {"trunkctl", "worker", "rollout", "celery", "pbxsim"}


def test_serving_url_loads_no_web_server() -> None:
    loaded = _loaded("from api import serving_url")
    assert not loaded & {"aiohttp", "aiohttp_jinja2", "pydantic", "trunkctl", "worker"}
