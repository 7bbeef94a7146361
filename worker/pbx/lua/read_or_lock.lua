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
