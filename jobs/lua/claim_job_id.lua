if redis.call('HSETNX', KEYS[1], 'job_id', ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
for _, listed in ipairs(redis.call('ZRANGE', KEYS[2], 0, 9)) do
    if redis.call('EXISTS', ARGV[3] .. listed) == 0 then redis.call('ZREM', KEYS[2], listed) end
end
return 1
