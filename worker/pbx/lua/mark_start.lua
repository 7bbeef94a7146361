local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
if now + interval > tonumber(redis.call('GET', KEYS[1]) or '0') then
    redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000)
end
return 1
