"""Schemathesis against /api/openapi.json of a real server: no 5xx, and every answer (status,
content type, body) is one the document describes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case

from pbxsim import SimulatorThread
from tests.api.conftest import TOKEN
from tests.api.server_process import ServeProcess
from tests.e2e import Rollout, fleet_rows

# Per operation: enough to try each parameter's edges, few enough to stay within seconds.
EXAMPLES = 12
# A schema-valid upload may still be refused for what its files hold: a file that is not UTF-8
# text is 400, rows that are not valid trunks are 422 (the document lists both).
UPLOADS_MAY_BE_REFUSED = {
    "include-name": ["POST /api/jobs", "POST /api/jobs/{job_id}/retry"],
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "422"]},
    },
}


def test_answers_match_the_document(
    server: ServeProcess, rollout: Rollout, sim: SimulatorThread
) -> None:
    rollout.submit(sim, fleet_rows(sim.aliases(), per_pbx=2), label="listed")  # a job to list
    config = schemathesis.Config.from_dict({"operations": [UPLOADS_MAY_BE_REFUSED]})
    schema = schemathesis.openapi.from_url(f"{server.url}api/openapi.json", config=config)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def call(case: Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})

        call()
        checked.append(operation.label)
    # Every route of the document but the document itself (schemathesis leaves it out).
    assert sorted(checked) == [
        "GET /api/jobs", "GET /api/jobs/{job_id}", "GET /api/jobs/{job_id}/items",
        "GET /api/jobs/{job_id}/report.csv", "GET /healthz", "POST /api/jobs",
        "POST /api/jobs/{job_id}/retry",
    ]  # fmt: skip
