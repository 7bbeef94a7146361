"""Redis locks owned by a token: released only by their owner, expiring if it dies."""

from __future__ import annotations

# KEYS: the lock. ARGV: the owner's token. Deletes the lock only if this owner still holds it
# (it may have expired and been taken by someone else meanwhile).
UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
