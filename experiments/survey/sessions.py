"""Who may act as a worker id: the browser that claimed it. The first ``GET /qualify?worker=W`` claims ``W``
and the server issues that browser a random secret (a cookie, :data:`COOKIE`); every later request naming
``W`` (the test's post, ``/next``, ``/answer``) must carry it. Only the secret's sha256 is stored (table
``sessions`` of ``responses.sqlite``), so a copy of the database does not hand out sessions.

The threat model is in ``docs/survey.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

from experiments.survey.db import connect

COOKIE = "survey_worker_secret"
SCHEMA = ("CREATE TABLE IF NOT EXISTS sessions (worker TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, "
          "issued REAL NOT NULL)")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def init(path: Path) -> None:
    """Create the ``sessions`` table if it is not there."""
    with connect(path) as conn:
        conn.execute(SCHEMA)


def claim(path: Path, worker: str) -> str | None:
    """A new secret for ``worker`` if no browser has claimed it yet (one transaction), else None."""
    secret = secrets.token_urlsafe(32)
    with connect(path) as conn:
        cur = conn.execute("INSERT OR IGNORE INTO sessions VALUES (?, ?, ?)", (worker, _digest(secret), time.time()))
    return secret if cur.rowcount == 1 else None


def holds(path: Path, worker: str, secret: str | None) -> bool:
    """Whether ``secret`` is the one issued for ``worker`` (a constant-time comparison)."""
    if not secret:
        return False
    with connect(path) as conn:
        row = conn.execute("SELECT secret_sha256 FROM sessions WHERE worker = ?", (worker,)).fetchone()
    return row is not None and hmac.compare_digest(row[0], _digest(secret))


def cookie_secret(header: str | None) -> str | None:
    """The secret in a ``Cookie`` request header, None without one (or for a malformed header)."""
    jar = SimpleCookie()
    try:
        jar.load(header or "")
    except CookieError:
        return None
    return jar[COOKIE].value if COOKIE in jar else None


def set_cookie(secret: str) -> str:
    """The ``Set-Cookie`` header value for ``secret``: script-proof (HttpOnly), same-site only, whole site."""
    return f"{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict"
