"""The Lua scripts of the per-device limiter (worker.pbx.limiter). Those that need the time take
it from the Redis server (TIME), so that every worker process on every machine agrees on it."""

# KEYS: leases, next-start, limits[, a job's circuits]. ARGV: lease id, lease ms, default max,
# default interval ms[, the PBX alias whose circuit to read]. Returns {taken (1/0), ms to wait
# before asking again (-1: unknown), the device's interval ms, ms until the soonest lease expires
# (when full), the device's max in flight}; or {2, 0, 0, 0, 0, the reason} when the job's circuit
# for that PBX is open (then no slot is taken: the request must not leave).
ACQUIRE_LUA = """
if KEYS[4] then
    local reason = redis.call('HGET', KEYS[4], ARGV[5])
    if reason then return {2, 0, 0, 0, 0, reason} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limits = redis.call('HMGET', KEYS[3], 'max_inflight', 'min_interval_ms')
local max = tonumber(limits[1] or ARGV[3])
local interval = tonumber(limits[2] or ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max then
    local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, -1, interval, tonumber(soonest[2]) - now, max}
end
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < next_start then return {0, next_start - now, interval, 0, max} end
local lease_ms = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease_ms * 2)
if interval > 0 then redis.call('SET', KEYS[2], now + interval, 'PX', interval + 1000) end
return {1, 0, interval, 0, max}
"""

# KEYS: next-start. ARGV: interval ms. A request is leaving now: the next may start an interval
# from now, not from when this one's slot was granted (it may have left a little later).
MARK_START_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
if now + interval > tonumber(redis.call('GET', KEYS[1]) or '0') then
    redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000)
end
return 1
"""

# KEYS: leases. ARGV: lease id, channel, device id. Gives a lease back and says so to the waiters
# of other processes, if it may (a Redis ACL can forbid channels; the waiters poll too).
RELEASE_LUA = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.pcall('PUBLISH', ARGV[2], ARGV[3])
return 1
"""

# KEYS: leases. ARGV: lease id, lease ms. Pushes a live lease's expiry forward, and the key's
# own expiry with it: otherwise the whole set expires under a long request (2 x lease ms after the
# last acquire) and its slot is handed out twice.
RENEW_LUA = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease_ms = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + lease_ms, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease_ms * 2)
return 1
"""
