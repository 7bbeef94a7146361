"""The token cache's Lua scripts: each reads or writes a PBX client's token state in one step."""

from __future__ import annotations

from core.lua import lua

# KEYS: token, fetch lock, the job's circuit, token-cap pause, unanswered logins, refused
# secrets, device refusal, device failed logins. ARGV: owner, lock ms, the device's circuit
# field, now (epoch s), a
# token's lifetime (s), the secret's fingerprint, the failed-login window (s), the most failed
# logins in it, a reservation's member. A pair is usable until its refresh_at.
# Returns {USABLE, pair} when the stored pair is usable (no lock taken), {0, pair} while another
# holds the fetch lock, else, the lock now ours: {LOCKED, pair, the job's circuit, the device's
# refusal, the secret's refusal (each '' if none), capped, unanswered logins within a lifetime
# and the device's failed logins within the window (both {member, time, ...}), reserved}. A
# place in the failed-login budget is reserved for this fetch if one is free (reserved = 1).
READ_OR_LOCK_LUA = lua(__file__, "read_or_lock")
USABLE, LOCKED = 1, 2
# KEYS: token, fetch lock, device failed logins. ARGV: owner, ttl ms, the fetch's reservation,
# then the pair's fields and values. Replaces the stored pair, gives the reservation back (the
# PBX answered) and drops the lock if this owner still holds it.
STORE_AND_UNLOCK_LUA = lua(__file__, "store_and_unlock")
# KEYS: fetch lock, device failed logins. ARGV: owner, the fetch's reservation ('' if it is
# kept: the PBX refused the call). Drops the lock if this owner still holds it.
UNLOCK_AND_RELEASE_LUA = lua(__file__, "unlock_and_release")
# KEYS: the job's circuit, the memory (the refused secrets' hash or the device's refusal), device
# failed logins, token, job. ARGV: the device's circuit field, the refusal (JSON), its scope, the
# secret's fingerprint, memory ms, the circuit's ms if the job has none, the failed login's
# member ('' if it is none), now (epoch s), the failed-login window (s), '1' to forget the stored
# pair, the circuit's reason (JSON; '' for a call outside any job). Opens the job's circuit (the
# first reason stays) before the fetch lock goes; returns 1 when the memory is new (not yet known
# to any process: logged once).
RECORD_REFUSAL_LUA = lua(__file__, "record_refusal")
# KEYS: token. ARGV: the access token the PBX refused. Marks the stored pair due for renewal if
# it still holds that token (one step: the pair may expire or be replaced meanwhile).
INVALIDATE_LUA = lua(__file__, "invalidate")
# KEYS: the fingerprint key. ARGV: a new random key. The stored key, made now if there is none.
FINGERPRINT_KEY_LUA = lua(__file__, "fingerprint_key")
