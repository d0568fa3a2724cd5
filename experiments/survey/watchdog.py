"""A deadline per connection of the survey server: one daemon thread shuts down any connection still open
after ``limit`` seconds, however slowly its bytes arrive (a header drip resets a per-read timeout, not this).
A shut-down socket makes the handler's pending read return end-of-file, so its thread ends."""

from __future__ import annotations

import logging
import socket
import threading
import time

log = logging.getLogger(__name__)


class Watchdog:
    """Tracks open connections and shuts down those older than ``limit`` seconds (checked every ``tick``)."""

    def __init__(self, limit: float, tick: float = 0.25) -> None:
        self.limit, self.tick = limit, tick
        self.open: dict[socket.socket, float] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._run, name="survey-watchdog", daemon=True).start()

    def register(self, conn: socket.socket) -> None:
        """Start ``conn``'s clock."""
        with self.lock:
            self.open[conn] = time.monotonic() + self.limit

    def forget(self, conn: socket.socket) -> None:
        """``conn`` is done; stop watching it."""
        with self.lock:
            self.open.pop(conn, None)

    def expired(self, now: float) -> list[socket.socket]:
        """The connections past their deadline at ``now`` (no longer watched after this call)."""
        with self.lock:
            late = [conn for conn, deadline in self.open.items() if deadline <= now]
            for conn in late:
                del self.open[conn]
        return late

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            for conn in self.expired(time.monotonic()):
                log.warning("a connection exceeded %.0f s; closed", self.limit)
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by its handler
