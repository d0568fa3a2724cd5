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

Malformed posts are refused with 400, an unqualified worker or a foreign token with 403, a replayed post
or a second answer to a task with 409; nothing is stored for a refused post.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from experiments.survey import db
from experiments.survey.pages import message_page, qualification_page, start_page, task_page
from experiments.survey.qualification import score
from hypercon.errors import SettingError

log = logging.getLogger(__name__)

WORKER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_BODY = 64 * 1024
MAX_TIME_MS = 24 * 3600 * 1000
STATIC_DIRS = ("assets", "media")


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

    # ---- plumbing ---------------------------------------------------------------------------------
    def log_message(self, fmt: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), fmt % args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _html(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _json(self, obj: dict[str, Any], status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _worker(self, query: dict[str, list[str]]) -> str | None:
        worker = (query.get("worker") or [""])[0]
        if not WORKER.match(worker):
            self._html(message_page("Bad request", "worker must be 1-64 letters, digits, - or _"), 400)
            return None
        return worker

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
        status = db.worker_status(self.db_file, worker)
        if url.path == "/qualify":
            if status is None:
                token = db.issue_token(self.db_file, worker, db.QUALIFICATION)
                return self._html(qualification_page(worker, token, self.qual))
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
            body = self._body()
            reply = self._qualify(body) if path == "/qualify" else self._answer(body)
        except db.Refused as exc:
            return self._json({"error": str(exc)}, exc.status)
        return self._json(reply)

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            raise db.Refused(400, f"a JSON body of 1..{MAX_BODY} bytes is needed")
        try:
            body = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, ValueError):
            raise db.Refused(400, "the body is not JSON") from None
        if not isinstance(body, dict) or not WORKER.match(str(body.get("worker", ""))) or \
                not isinstance(body.get("token"), str):
            raise db.Refused(400, "worker (1-64 letters, digits, - or _) and token are needed")
        return body

    def _qualify(self, body: dict[str, Any]) -> dict[str, Any]:
        answers, triplets = body.get("answers"), self.qual["triplets"]
        if not isinstance(answers, list) or len(answers) != len(triplets) or \
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
        task = self.tasks.get(body.get("task")) if isinstance(body.get("task"), str) else None
        if task is None:
            raise db.Refused(400, "unknown task")
        if body.get("answer") not in ("left", "right") or not isinstance(body.get("difficult"), bool):
            raise db.Refused(400, "answer must be left or right and difficult true or false")
        elapsed = body.get("time_on_page_ms")
        if type(elapsed) is not int or not 0 <= elapsed <= MAX_TIME_MS:
            raise db.Refused(400, f"time_on_page_ms must be an integer in 0..{MAX_TIME_MS}")
        db.record_response(self.db_file, body["worker"], body["token"], task, body["answer"], body["difficult"], elapsed)
        return {"ok": True, "message": "saved", "next": f"/next?worker={body['worker']}"}


def make_server(root: Path | str, port: int = 8000, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """The survey server bound to ``host:port`` (``port=0``: any free port; see ``server_address``)."""
    root = Path(root)
    survey, qual = load_survey(root)
    db.init(db.db_path(root))
    handler = type("Handler", (SurveyHandler,), {"root": root, "survey": survey, "qual": qual,
                                                "db_file": db.db_path(root),
                                                "tasks": {t["id"]: t for t in survey["tasks"]}})
    return ThreadingHTTPServer((host, port), handler)


def serve(root: Path | str, port: int = 8000) -> None:
    """Serve until interrupted; prints the address (one line, flushed) once listening."""
    server = make_server(root, port)
    print(f"serving {root} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stderr.write("stopped\n")
    finally:
        server.server_close()
