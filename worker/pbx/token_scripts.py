"""The token cache's Lua scripts: each reads or writes a PBX client's token state in one step."""

from __future__ import annotations

# KEYS: token, fetch lock, the job refusals, token-cap pause, unanswered logins, refused
# secrets, device refusal, device failed logins. ARGV: owner, lock ms, job id, now (epoch s), a
# token's lifetime (s), the secret's fingerprint, the failed-login window (s), the most failed
# logins in it, a reservation's member. A pair is usable until its refresh_at.
# Returns {USABLE, pair} when the stored pair is usable (no lock taken), {0, pair} while another
# holds the fetch lock, else, the lock now ours: {LOCKED, pair, the job's refusal, the device's
# refusal, the secret's refusal (each '' if none), capped, unanswered logins within a lifetime
# and the device's failed logins within the window (both {member, time, ...}), reserved}. A
# place in the failed-login budget is reserved for this fetch if one is free (reserved = 1).
READ_OR_LOCK_LUA = """
local pair = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[4])
for i = 1, #pair, 2 do
    if pair[i] == 'refresh_at' and tonumber(pair[i + 1]) > now then return {1, pair} end
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, pair} end
local window = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - window)
local failed = redis.call('ZRANGE', KEYS[8], 0, -1, 'WITHSCORES')
local reserved = 0
if #failed / 2 < tonumber(ARGV[8]) then
    redis.call('ZADD', KEYS[8], ARGV[4], ARGV[9])
    redis.call('EXPIRE', KEYS[8], window)
    reserved = 1
end
return {
    2, pair, redis.call('HGET', KEYS[3], ARGV[3]) or '', redis.call('GET', KEYS[7]) or '',
    redis.call('HGET', KEYS[6], ARGV[6]) or '', redis.call('EXISTS', KEYS[4]),
    redis.call('ZRANGEBYSCORE', KEYS[5], now - tonumber(ARGV[5]), '+inf', 'WITHSCORES'),
    failed, reserved,
}
"""
USABLE, LOCKED = 1, 2
# KEYS: token, fetch lock, device failed logins. ARGV: owner, ttl ms, the fetch's reservation,
# then the pair's fields and values. Replaces the stored pair, gives the reservation back (the
# PBX answered) and drops the lock if this owner still holds it.
STORE_AND_UNLOCK_LUA = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# KEYS: fetch lock, device failed logins. ARGV: owner, the fetch's reservation ('' if it is
# kept: the PBX refused the call). Drops the lock if this owner still holds it.
UNLOCK_AND_RELEASE_LUA = """
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[2], ARGV[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: job refusals, the memory (the refused secrets' hash or the device's refusal), device
# failed logins, token. ARGV: job id, the refusal (JSON), its scope, the secret's fingerprint,
# memory ms, job refusal ms, the failed login's member ('' if it is none), now (epoch s), the
# failed-login window (s), '1' to forget the stored pair. Returns 1 when the memory is new
# (not yet known to any process: it is logged once).
RECORD_REFUSAL_LUA = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local new = 0
if ARGV[3] == 'credentials' then
    new = redis.call('HSET', KEYS[2], ARGV[4], ARGV[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
elseif ARGV[3] == 'device' then
    new = 1 - redis.call('EXISTS', KEYS[2])
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5])
end
if ARGV[7] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[8], ARGV[7])
    redis.call('EXPIRE', KEYS[3], ARGV[9])
end
if ARGV[10] == '1' then redis.call('DEL', KEYS[4]) end
return new
"""
# KEYS: token. ARGV: the access token the PBX refused. Marks the stored pair due for renewal if
# it still holds that token (one step: the pair may expire or be replaced meanwhile).
INVALIDATE_LUA = """
if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
    redis.call('HSET', KEYS[1], 'refresh_at', '0')
end
return 1
"""
# KEYS: the fingerprint key. ARGV: a new random key. The stored key, made now if there is none.
FINGERPRINT_KEY_LUA = """
local key = redis.call('GET', KEYS[1])
if key then return key end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""
