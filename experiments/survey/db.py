"""The survey's answers: ``SURVEY/responses.sqlite`` in WAL mode, ``synchronous=FULL``.

Each write is one ``BEGIN IMMEDIATE`` transaction, so an answer is either committed whole or not at all, and a
committed one survives ``kill -9`` of the server. A page carries a one-time token bound to (worker, task):
a post is accepted once, with an unused token of the same worker and task, from a qualified worker, and the
UNIQUE (worker, task) constraint keeps one answer per worker and task even against a forged token.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

QUALIFICATION = "__qualification__"  # the task name of qualification tokens
SCHEMA = """
CREATE TABLE IF NOT EXISTS workers (worker TEXT PRIMARY KEY, correct INTEGER NOT NULL, total INTEGER NOT NULL,
    qualified INTEGER NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, worker TEXT NOT NULL, task TEXT NOT NULL,
    issued REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS responses (id INTEGER PRIMARY KEY, worker TEXT NOT NULL, task TEXT NOT NULL,
    question TEXT NOT NULL, left_method TEXT NOT NULL, right_method TEXT NOT NULL, answer TEXT NOT NULL,
    chosen TEXT NOT NULL,
    difficult INTEGER NOT NULL, time_on_page_ms INTEGER NOT NULL, qualified INTEGER NOT NULL, at REAL NOT NULL,
    UNIQUE (worker, task));
"""
COLUMNS = ("id", "worker", "task", "question", "left_method", "right_method", "answer", "chosen", "difficult",
           "time_on_page_ms", "qualified", "at")


class Refused(Exception):
    """A post the server refuses: ``status`` (400 malformed, 403 not allowed, 409 replayed / answered twice)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def db_path(survey: Path) -> Path:
    return Path(survey) / "responses.sqlite"


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection (autocommit; writes open their own ``BEGIN IMMEDIATE``), closed on exit."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        yield conn
    finally:
        conn.close()


def init(path: Path) -> None:
    with connect(path) as conn:
        conn.executescript(SCHEMA)


def issue_token(path: Path, worker: str, task: str) -> str:
    """A fresh one-time token for ``worker`` on ``task`` (the page carries it back with the answer)."""
    token = secrets.token_hex(16)
    with connect(path) as conn:
        conn.execute("INSERT INTO tokens (token, worker, task, issued) VALUES (?, ?, ?, ?)",
                     (token, worker, task, time.time()))
    return token


def _use_token(conn: sqlite3.Connection, token: str, worker: str, task: str) -> None:
    row = conn.execute("SELECT worker, task, used FROM tokens WHERE token = ?", (token,)).fetchone()
    if row is None or row[0] != worker or row[1] != task:
        raise Refused(403, "unknown token for this worker and task (open the task page again)")
    if row[2]:
        raise Refused(409, "this page was already submitted (replayed post)")
    conn.execute("UPDATE tokens SET used = 1 WHERE token = ?", (token,))


def worker_status(path: Path, worker: str) -> dict[str, Any] | None:
    """``{"correct", "total", "qualified"}`` of a worker who took the test, else None."""
    with connect(path) as conn:
        row = conn.execute("SELECT correct, total, qualified FROM workers WHERE worker = ?", (worker,)).fetchone()
    return None if row is None else {"correct": row[0], "total": row[1], "qualified": bool(row[2])}


def record_qualification(path: Path, worker: str, token: str, correct: int, total: int, qualified: bool) -> None:
    """The worker's one attempt at the test (a second attempt is refused with 409)."""
    with connect(path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _use_token(conn, token, worker, QUALIFICATION)
            if conn.execute("SELECT 1 FROM workers WHERE worker = ?", (worker,)).fetchone():
                raise Refused(409, f"worker {worker} already took the qualification test")
            conn.execute("INSERT INTO workers VALUES (?, ?, ?, ?, ?)", (worker, correct, total, int(qualified),
                                                                        time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def record_response(path: Path, worker: str, token: str, task: dict[str, Any], answer: str, difficult: bool,
                    time_on_page_ms: int, cap: int | None = None) -> int:
    """Store one answer (``answer`` = "left" | "right"); returns its row id. Refused: not qualified (403), bad
    token (403), replayed token, a second answer to the task or a task that already has ``cap`` answers (409).
    The cap is counted inside the same ``BEGIN IMMEDIATE`` transaction as the insert, so concurrent posts
    cannot overshoot it."""
    with connect(path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            status = conn.execute("SELECT qualified FROM workers WHERE worker = ?", (worker,)).fetchone()
            if status is None or not status[0]:
                raise Refused(403, f"worker {worker} has not passed the qualification test")
            _use_token(conn, token, worker, task["id"])
            if conn.execute("SELECT 1 FROM responses WHERE worker = ? AND task = ?", (worker, task["id"])).fetchone():
                raise Refused(409, f"worker {worker} already answered task {task['id']}")
            stored = conn.execute("SELECT COUNT(*) FROM responses WHERE task = ?", (task["id"],)).fetchone()[0]
            if cap is not None and stored >= cap:
                raise Refused(409, f"task {task['id']} already has its {cap} responses (open the next task)")
            cur = conn.execute(
                "INSERT INTO responses (worker, task, question, left_method, right_method, answer, chosen, difficult, "
                "time_on_page_ms, qualified, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (worker, task["id"], task["question"], task["left"], task["right"], answer, task[answer],
                 int(difficult), int(time_on_page_ms), time.time()))
            conn.execute("COMMIT")
            return int(cur.lastrowid)
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def answered(path: Path) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """(responses per task, {(worker, task)}) so far."""
    with connect(path) as conn:
        rows = conn.execute("SELECT worker, task FROM responses").fetchall()
    counts: dict[str, int] = {}
    for _, task in rows:
        counts[task] = counts.get(task, 0) + 1
    return counts, {(w, t) for w, t in rows}


def responses(path: Path) -> list[dict[str, Any]]:
    """Every stored response, in insertion order, as dicts with :data:`COLUMNS`."""
    if not Path(path).is_file():
        return []
    with connect(path) as conn:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM responses ORDER BY id").fetchall()
    return [dict(zip(COLUMNS, row)) for row in rows]
