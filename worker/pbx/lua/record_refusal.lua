if ARGV[11] ~= '' then
    redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[11])
    local ttl = redis.call('PTTL', KEYS[5])
    redis.call('PEXPIRE', KEYS[1], ttl > 0 and ttl or ARGV[6])
end
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
