"""``python -m experiments.survey serve SURVEY/ --port 8000``: the survey on http://127.0.0.1:PORT/.

Standard library only (``http.server.ThreadingHTTPServer``); answers go to ``SURVEY/responses.sqlite``
(:mod:`experiments.survey.db`). Routes::

    GET  /                        worker id form
    GET  /qualify?worker=W        the qualification test (once per worker)
    POST /qualify                 {"worker", "token", "answers": [0|1 × 10]} → {"qualified", "correct", "next"}
    GET  /next?worker=W           the next task this worker has not answered that still needs responses
    POST /answer                  {"worker", "token", "task", "answer": "left"|"right", "difficult": bool,
                                   "time_on_page_ms": int} → {"ok", "next"}
    GET  /assets/…, /media/…      static files (nothing else under SURVEY/ is served)

Malformed posts are refused with 400 (over :data:`~experiments.survey.bodies.MAX_BODY` bytes, JSON nested
deeper than :data:`~experiments.survey.bodies.MAX_DEPTH`, other keys or types than
:data:`~experiments.survey.bodies.SHAPES`), a request naming a worker without the secret the server issued to
that worker's browser (:mod:`experiments.survey.sessions`), an unqualified worker or a foreign token with 403,
a replayed post, a second answer to a task or an answer to a task that already has ``responses_per_task``
answers with 409; nothing is stored for a refused post. Each read waits at most ``read_timeout`` seconds, a
connection lives at most :data:`DEADLINE_READS` × that, and the listen backlog is :data:`BACKLOG`.
The threat model and the measured load: ``docs/survey.md``.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from experiments.survey import db, sessions
from experiments.survey.bodies import MAX_BODY, WORKER, parse_body
from experiments.survey.pages import message_page, qualification_page, start_page, task_page
from experiments.survey.qualification import score
from experiments.survey.watchdog import Watchdog
from hypercon.errors import SettingError

log = logging.getLogger(__name__)

MAX_TIME_MS = 24 * 3600 * 1000
STATIC_DIRS = ("assets", "media")
READ_TIMEOUT = 10.0  # seconds one read of a request may wait (``serve --read-timeout``)
DEADLINE_READS = 3  # a connection is closed after DEADLINE_READS × read_timeout, however it trickles
#: the listen backlog: the documented load is 200 simultaneous connections (docs/survey.md); the kernel caps
#: it at net.core.somaxconn (4096 on current Linux)
BACKLOG = 1024


def load_survey(root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(survey.json, qualification.json) of a built survey; SettingError naming the missing file."""
    for name in ("survey.json", "qualification.json"):
        if not (Path(root) / name).is_file():
            raise SettingError(f"{Path(root) / name} not found: build the survey first "
                               "(python -m experiments.survey build RUNS... --out SURVEY/)")
    return tuple(json.loads((Path(root) / name).read_text()) for name in ("survey.json", "qualification.json"))


def next_task(survey: dict[str, Any], counts: dict[str, int], done: set[tuple[str, str]], worker: str):
    """The task with the fewest responses (below ``responses_per_task``) that ``worker`` has not answered."""
    open_tasks = [t for t in survey["tasks"]
                  if counts.get(t["id"], 0) < survey["responses_per_task"] and (worker, t["id"]) not in done]
    return min(open_tasks, key=lambda t: counts.get(t["id"], 0), default=None)


class SurveyHandler(BaseHTTPRequestHandler):
    root: Path
    survey: dict[str, Any]
    qual: dict[str, Any]
    db_file: Path
    tasks: dict[str, dict[str, Any]]
    server_version = "hypercon-survey"
    timeout = READ_TIMEOUT  # socketserver sets it on the connection: each read waits at most this long

    def setup(self) -> None:
        super().setup()
        self.server.watchdog.register(self.connection)

    def finish(self) -> None:
        self.server.watchdog.forget(self.connection)
        super().finish()

    # ---- plumbing ---------------------------------------------------------------------------------
    def log_message(self, fmt: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, body: bytes, ctype: str, secret: str | None = None) -> None:
        self.send_response(status)
        if secret is not None:
            self.send_header("Set-Cookie", sessions.set_cookie(secret))
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _html(self, text: str, status: int = 200, secret: str | None = None) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8", secret)

    def _json(self, obj: dict[str, Any], status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _worker(self, query: dict[str, list[str]]) -> str | None:
        worker = (query.get("worker") or [""])[0]
        if not WORKER.match(worker):
            self._html(message_page("Bad request", "worker must be 1-64 letters, digits, - or _"), 400)
            return None
        return worker

    def _holds(self, worker: str) -> bool:
        """Whether this request carries the secret issued to ``worker``'s browser."""
        return sessions.holds(self.db_file, worker, sessions.cookie_secret(self.headers.get("Cookie")))

    def _session(self, path: str, worker: str) -> tuple[bool, str | None]:
        """(allowed, a newly issued secret): ``/qualify`` claims an unclaimed worker id for this browser."""
        if self._holds(worker):
            return True, None
        secret = sessions.claim(self.db_file, worker) if path == "/qualify" else None
        return secret is not None, secret

    # ---- GET --------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path == "/":
            return self._html(start_page())
        if parts[0] in STATIC_DIRS and len(parts) > 1:
            return self._static(parts)
        if url.path not in ("/qualify", "/next"):
            return self._html(message_page("Not found", url.path), 404)
        worker = self._worker(query)
        if worker is None:
            return None
        allowed, secret = self._session(url.path, worker)
        if not allowed:
            return self._html(message_page("Not your worker id", f"Worker id {worker} belongs to another browser: "
                                           "use the browser you started in, or a new worker id."), 403)
        status = db.worker_status(self.db_file, worker)
        if url.path == "/qualify":
            if status is None:
                token = db.issue_token(self.db_file, worker, db.QUALIFICATION)
                return self._html(qualification_page(worker, token, self.qual), secret=secret)
            if status["qualified"]:
                return self._redirect(f"/next?worker={worker}")
        if status is None or not status["qualified"]:
            return self._html(message_page("Not qualified", f"Worker {worker} has not passed the qualification test "
                                           "and cannot answer tasks."), 403)
        counts, done = db.answered(self.db_file)
        task = next_task(self.survey, counts, done, worker)
        if task is None:
            return self._html(message_page("Done", "There is no task left for you. Thank you!"))
        token = db.issue_token(self.db_file, worker, task["id"])
        return self._html(task_page(worker, token, task, self.survey))

    def _redirect(self, location: str) -> None:
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _static(self, parts: list[str]) -> None:
        if any(p in ("", ".", "..") or "\\" in p for p in parts):
            return self._html(message_page("Bad request", "bad path"), 400)
        path = self.root.joinpath(*parts)
        if not path.is_file():
            return self._html(message_page("Not found", "/".join(parts)), 404)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return self._send(200, path.read_bytes(), ctype)

    # ---- POST -------------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802
        path = urlparse(self.path).path
        if path not in ("/qualify", "/answer"):
            return self._json({"error": f"no such endpoint {path}"}, 404)
        try:
            body = parse_body(self._read_body(), path)
            if not self._holds(body["worker"]):
                raise db.Refused(403, f"this browser holds no session of worker {body['worker']} "
                                      "(start at /qualify?worker=… in this browser)")
            reply = self._qualify(body) if path == "/qualify" else self._answer(body)
        except db.Refused as exc:
            return self._json({"error": str(exc)}, exc.status)
        return self._json(reply)

    def _read_body(self) -> bytes:
        """The request body (Content-Length bytes, at most MAX_BODY; a short read is bad JSON later)."""
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            raise db.Refused(400, f"a JSON body of 1..{MAX_BODY} bytes is needed")
        return self.rfile.read(length)

    def _qualify(self, body: dict[str, Any]) -> dict[str, Any]:
        answers, triplets = body["answers"], self.qual["triplets"]
        if len(answers) != len(triplets) or \
                any(type(a) is not int or a not in (0, 1) for a in answers):
            raise db.Refused(400, f"answers must be {len(triplets)} values of 0 or 1")
        correct = score(answers, triplets)
        qualified = correct >= int(self.qual["pass_mark"])
        db.record_qualification(self.db_file, body["worker"], body["token"], correct, len(triplets), qualified)
        message = (f"{correct} of {len(triplets)} correct: qualified." if qualified else
                   f"{correct} of {len(triplets)} correct: not qualified ({self.qual['pass_mark']} needed).")
        return {"qualified": qualified, "correct": correct, "message": message,
                **({"next": f"/next?worker={body['worker']}"} if qualified else {})}

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        task = self.tasks.get(body["task"])
        if task is None:
            raise db.Refused(400, "unknown task")
        if body["answer"] not in ("left", "right"):
            raise db.Refused(400, "answer must be left or right")
        elapsed = body["time_on_page_ms"]
        if not 0 <= elapsed <= MAX_TIME_MS:
            raise db.Refused(400, f"time_on_page_ms must be an integer in 0..{MAX_TIME_MS}")
        db.record_response(self.db_file, body["worker"], body["token"], task, body["answer"], body["difficult"],
                           elapsed, cap=int(self.survey["responses_per_task"]))
        return {"ok": True, "message": "saved", "next": f"/next?worker={body['worker']}"}


class SurveyServer(ThreadingHTTPServer):
    """A threading HTTP server with a listen backlog of :data:`BACKLOG` and a :class:`Watchdog` on its
    connections."""

    request_queue_size = BACKLOG
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, deadline: float) -> None:
        self.watchdog = Watchdog(deadline)
        super().__init__(address, handler)


def make_server(root: Path | str, port: int = 8000, host: str = "127.0.0.1",
                read_timeout: float = READ_TIMEOUT) -> SurveyServer:
    """The survey server bound to ``host:port`` (``port=0``: any free port; see ``server_address``)."""
    root = Path(root)
    survey, qual = load_survey(root)
    db.init(db.db_path(root))
    sessions.init(db.db_path(root))
    handler = type("Handler", (SurveyHandler,), {"root": root, "survey": survey, "qual": qual,
                                                "db_file": db.db_path(root), "timeout": read_timeout,
                                                "tasks": {t["id"]: t for t in survey["tasks"]}})
    return SurveyServer((host, port), handler, DEADLINE_READS * read_timeout)


def serve(root: Path | str, port: int = 8000, read_timeout: float = READ_TIMEOUT) -> None:
    """Serve until interrupted; prints the address (one line, flushed) once listening."""
    server = make_server(root, port, read_timeout=read_timeout)
    print(f"serving {root} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stderr.write("stopped\n")
    finally:
        server.server_close()
