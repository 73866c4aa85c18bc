"""Tokens and codes: generated with ``secrets``, stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """An opaque bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of entropy, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(key: bytes, phone: str, code: str) -> str:
    # A 6-digit code is guessable offline from a plain hash; the server key
    # (not in the database) makes a leaked table useless.
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
