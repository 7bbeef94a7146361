redis.call('ZREM', KEYS[1], ARGV[1])
redis.pcall('PUBLISH', ARGV[2], ARGV[3])
return 1
