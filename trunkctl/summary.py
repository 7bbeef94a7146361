"""A job's status and its failures as people read them: after `status`, `run` and `demo`."""

from __future__ import annotations

import click

from jobs.failures import FailureGroup, failure_groups
from jobs.states import ALL_STATES, FINAL_STATES
from jobs.store import SUBMIT_CUT_SHORT, SUBMIT_RUNNING, JobStatus, JobStore, JobSummary
from trunkctl.output import shown, styled

# At most this many groups of failures are listed; `report --state failed` has them all.
SHOWN_GROUPS = 10
OUTCOME_COLOURS = {
    "success": "green",
    "failed": "red",
    "partial": "yellow",
    SUBMIT_CUT_SHORT: "red",
}


def outcome_word(status: JobSummary) -> str:
    """success, partial or failed; else cut short, cancelled or in progress."""
    if status["final"]:
        return str(status["outcome"])
    return SUBMIT_CUT_SHORT if status["submit"] == SUBMIT_CUT_SHORT else "in progress"


def kind_text(job: JobSummary) -> str:
    """What a job is for: rollout, plan, 'apply of PLAN', 'rollback of JOB'."""
    kind = job.get("kind") or "rollout"
    if kind == "apply" and job.get("source"):
        return f"apply of {job['source']}"
    if kind == "rollback" and job.get("source"):
        return f"rollback of {job['source']}"
    return kind


def print_status(status: JobStatus) -> None:
    """The job, its outcome, counts per state and what each PBX has left to do."""
    click.echo(f"job      {status['job_id']}  {shown(status['label'])}".rstrip())
    click.echo(f"created  {status['created_at']}")
    if status.get("kind", "rollout") != "rollout":
        click.echo(f"kind     {kind_text(status)}")
    outcome = outcome_word(status)
    click.echo(f"outcome  {click.style(outcome, fg=OUTCOME_COLOURS.get(outcome))}")
    click.echo(f"total    {status['total']}")
    if status["submit"] == SUBMIT_RUNNING:
        click.echo("         (its submit is still storing and queuing trunks)")
    for name in ALL_STATES:
        if status["counts"].get(name):
            click.echo(f"  {styled(name, 10)} {status['counts'][name]}")
    pending = {
        pbx: {s: n for s, n in counts.items() if s not in FINAL_STATES}
        for pbx, counts in status["pbxs"].items()
    }
    pending = {pbx: counts for pbx, counts in pending.items() if counts}
    if pending:
        click.echo("still to do, per PBX:")
        for pbx, counts in pending.items():
            counted = ", ".join(f"{state} {n}" for state, n in counts.items())
            click.echo(f"  {shown(pbx):<20} {counted}")


def print_failures(store: JobStore, status: JobStatus) -> None:
    """The job's failed and rejected items grouped by PBX and reason (read only if any)."""
    if not any(status["counts"].get(state) for state in ("failed", "rejected")):
        return
    groups = failure_groups(store.items(status["job_id"]))
    click.echo("failures by PBX and reason:")
    for group in groups[:SHOWN_GROUPS]:
        click.echo(f"  {_group_line(group)}")
    if len(groups) > SHOWN_GROUPS:
        click.echo(f"  ... and {len(groups) - SHOWN_GROUPS} more groups")
    click.echo(f"  all of them: trunkctl report {status['job_id']} --state failed --state rejected")


def _group_line(group: FailureGroup) -> str:
    examples = ", ".join(group.names) + (", ..." if group.count > len(group.names) else "")
    code = f" (errcode {group.errcode})" if group.errcode is not None else ""
    if f"errcode {group.errcode}" in group.reason:
        code = ""  # the reason says it already
    head = f"{shown(group.pbx):<16} {styled(group.state)} {group.count}"
    return f"{head}: {shown(group.reason)}{code} [{shown(examples)}]"
