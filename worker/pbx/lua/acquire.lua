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
