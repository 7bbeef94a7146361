--! uses: nothing_open
redis.call('HDEL', KEYS[1], 'submitting')
redis.call('DEL', KEYS[2])
if nothing_open(KEYS[1]) then redis.pcall('PUBLISH', KEYS[1], 'final') end
return 1
