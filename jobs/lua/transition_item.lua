--! uses: transition
return transition(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], {unpack(ARGV, 4)})
