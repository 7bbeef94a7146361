"""Every Redis key trunkctl uses, defined once (all start with `trunkctl:`)."""

from __future__ import annotations

import hashlib

PREFIX = "trunkctl:"
JOBS_INDEX = f"{PREFIX}jobs"  # sorted set: job id scored by creation time
# Hash, never expiring: created_at of this store's first job. A job created before it that is
# not here any more was lost with the store's data (a Redis restarted without persistence).
STORE = f"{PREFIX}store"


def job(job_id: str) -> str:
    """Hash: label, created_at, total, files, ..."""
    return f"{PREFIX}job:{job_id}"


def job_counts(job_id: str) -> str:
    """Hash: state -> number of items in it; "submitting": 1 until the job's submit is done."""
    return f"{PREFIX}job:{job_id}:counts"


def job_final_channel(job_id: str) -> str:
    """Pub/sub channel: "final" once the job's last open item reaches a final state. (The name of
    the counts key, which the transition that decides it holds.)"""
    return job_counts(job_id)


def job_submitter(job_id: str) -> str:
    """String, expiring: present while a submit is storing and queuing the job (its lease)."""
    return f"{PREFIX}job:{job_id}:submitter"


def job_pbx_counts(job_id: str) -> str:
    """Hash: "<pbx>|<state>" -> number of that PBX's items in that state."""
    return f"{PREFIX}job:{job_id}:pbx-counts"


def job_pbxs(job_id: str) -> str:
    """Hash: pbx alias -> the inventory entry (JSON) the job delivers with."""
    return f"{PREFIX}job:{job_id}:pbxs"


def job_circuit(job_id: str) -> str:
    """Hash: a device's circuit field (below) -> why the job sends nothing more to it (its
    credentials or caller refused, its certificate failed, the job cancelled): the job's one
    credential circuit per device, read before every request of the job leaves."""
    return f"{PREFIX}job:{job_id}:circuit"


def circuit_field(base_url: str) -> str:
    """A device's field in a job's circuit: SHA-1 of its base URL, which Lua computes too
    (redis.sha1hex), so that a claim finds it from the item's inventory entry."""
    return hashlib.sha1(base_url.encode(), usedforsecurity=False).hexdigest()


def item(job_id: str, item_no: int) -> str:
    """Hash: one trunk of the job (state, attempts, outcome, the request body)."""
    return f"{item_prefix(job_id)}{item_no}"


def item_prefix(job_id: str) -> str:
    """What the key of each item of the job starts with (its number follows)."""
    return f"{PREFIX}job:{job_id}:item:"


def item_lock(job_id: str, item_no: int) -> str:
    """String: held while one task works on the item, so a duplicate delivery waits."""
    return f"{PREFIX}job:{job_id}:item:{item_no}:lock"


PBX_ENTRIES = f"{PREFIX}pbxs"  # hash: pbx alias -> its latest stored inventory entry (JSON)
# String, expiring: the status page's URL while a `trunkctl serve` runs (renewed, deleted on stop).
SERVE_URL = f"{PREFIX}serve-url"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


# Pub/sub channel: a device's id (below) each time one of its slots goes back, so that processes
# waiting for that device ask again at once instead of polling.
SLOT_RELEASED = f"{PREFIX}slot-released"


def device_id(base_url: str) -> str:
    """A device's name in keys and messages (a digest: base URLs stay out of Redis key names)."""
    return _digest(base_url)


def device_limits(base_url: str) -> str:
    """Hash: max_inflight and min_interval_ms of a device (the latest stored entry sets them)."""
    return f"{PREFIX}device:{_digest(base_url)}:limits"


def device_leases(base_url: str) -> str:
    """Sorted set: in-flight request leases to a device, scored by expiry (ms)."""
    return f"{PREFIX}device:{_digest(base_url)}:leases"


def device_next_start(base_url: str) -> str:
    """String: earliest time (ms) the next request to a device may start (min_interval_ms)."""
    return f"{PREFIX}device:{_digest(base_url)}:next-start"


def token(base_url: str, client_id: str) -> str:
    """Hash: the shared access/refresh token pair of one API client on one PBX."""
    return f"{PREFIX}token:{_digest(base_url, client_id)}"


def token_lock(base_url: str, client_id: str) -> str:
    """String: held by the one process fetching or refreshing that token."""
    return f"{PREFIX}token:{_digest(base_url, client_id)}:lock"


def token_unanswered(base_url: str, client_id: str) -> str:
    """Sorted set, expiring: logins that got no answer, by time (each may have left a token);
    `retry` deletes it, so that the PBX is probed afresh."""
    return f"{PREFIX}token:{_digest(base_url, client_id)}:unanswered"


def token_capped(base_url: str, client_id: str) -> str:
    """String, expiring: set while the PBX refuses new tokens (60002), so nobody hammers it."""
    return f"{PREFIX}token:{_digest(base_url, client_id)}:capped"


def token_refused_secrets(base_url: str, client_id: str) -> str:
    """Hash, expiring: a keyed fingerprint of a client secret that PBX refused (see
    FINGERPRINT_KEY) -> the refusal (JSON: when, by which job, the PBX's answer), kept 24 hours
    for every job, retry and worker; `retry --relogin` removes the job's current secret's."""
    return f"{PREFIX}token:{_digest(base_url, client_id)}:refused-secrets"


def device_refused(base_url: str) -> str:
    """String, expiring: why a device refuses this machine's IP (JSON: 70004 blocked, 70087 not
    on its allow-list), kept 24 hours for every job; `retry --relogin` removes it."""
    return f"{PREFIX}device:{_digest(base_url)}:refused"


def device_failed_logins(base_url: str) -> str:
    """Sorted set, expiring: the token calls a device refused, and those in flight, scored by
    time (s); members "<owner> <job id>" (see worker.pbx.login_gate)."""
    return f"{PREFIX}device:{_digest(base_url)}:failed-logins"


# String: the random key of the keyed fingerprints of refused client secrets (an HMAC key),
# made once by the first worker that needs it; never expires.
FINGERPRINT_KEY = f"{PREFIX}secret-fingerprint-key"
