"""The Lua scripts of the per-device limiter (worker.pbx.limiter). Those that need the time take
it from the Redis server (TIME), so that every worker process on every machine agrees on it."""

from core.lua import lua

# KEYS: leases, next-start, limits[, a job's circuits]. ARGV: lease id, lease ms, default max,
# default interval ms[, the device's circuit field]. Returns {taken (1/0), ms to wait
# before asking again (-1: unknown), the device's interval ms, ms until the soonest lease expires
# (when full), the device's max in flight}; or {2, 0, 0, 0, 0, the reason} when the job's circuit
# for that PBX is open (then no slot is taken: the request must not leave).
ACQUIRE_LUA = lua(__file__, "acquire")

# KEYS: next-start. ARGV: interval ms. A request is leaving now: the next may start an interval
# from now, not from when this one's slot was granted (it may have left a little later).
MARK_START_LUA = lua(__file__, "mark_start")

# KEYS: leases. ARGV: lease id, channel, device id. Gives a lease back and says so to the waiters
# of other processes, if it may (a Redis ACL can forbid channels; the waiters poll too).
RELEASE_LUA = lua(__file__, "release")

# KEYS: leases. ARGV: lease id, lease ms. Pushes a live lease's expiry forward, and the key's
# own expiry with it: otherwise the whole set expires under a long request (2 x lease ms after the
# last acquire) and its slot is handed out twice.
RENEW_LUA = lua(__file__, "renew_lease")
