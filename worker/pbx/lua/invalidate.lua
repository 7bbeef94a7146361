if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
    redis.call('HSET', KEYS[1], 'refresh_at', '0')
end
return 1
