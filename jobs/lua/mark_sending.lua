--! uses: transition
local circuit = redis.call('HGET', KEYS[5], ARGV[1])
if circuit then return circuit end
transition(KEYS[1], KEYS[2], KEYS[3], KEYS[4], 'advance', 'running', 1, {unpack(ARGV, 2)})
return false
