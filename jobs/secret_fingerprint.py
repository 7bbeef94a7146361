"""Keyed fingerprints of client secrets: how a refused secret is remembered without keeping it.

An HMAC-SHA256 under a random key kept in Redis (keys.FINGERPRINT_KEY): a plain hash would be
reversed by a list of likely secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import redis

from core import keys

KEY_BYTES = 32
FINGERPRINT_HEX_DIGITS = 32  # 128 bits: no two secrets of one PBX client collide


def new_fingerprint_key() -> str:
    """A random key for the fingerprints (hex)."""
    return secrets.token_hex(KEY_BYTES)


def fingerprint(key: bytes, secret: str) -> str:
    """The keyed fingerprint of a client secret."""
    digest = hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_HEX_DIGITS]


def stored_fingerprint_key(client: redis.Redis) -> bytes | None:
    """The key the workers use, if one was made (none: no refused secret is remembered)."""
    key = client.get(keys.FINGERPRINT_KEY)
    return key if isinstance(key, bytes) else None
