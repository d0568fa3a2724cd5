"""A scripted client of the survey server (the tests, ``benchmarks/bench_survey.py``): the server as a
subprocess (``kill()`` is ``kill -9``), plain HTTP GET / POST, a :class:`Session` that keeps the cookie the
server issues to one worker (as a browser does), and the data a page embeds."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Session:
    """HTTP GET / POST against ``url`` with a cookie jar of its own: one browser, i.e. one worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        """(status, body text) of ``GET path``."""
        try:
            with self.opener.open(self.url + path, timeout=30) as res:
                return res.status, res.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def post(self, path: str, body: dict | bytes) -> tuple[int, dict]:
        """(status, JSON reply) of ``POST path`` with ``body`` (a dict is sent as JSON)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(req, timeout=30) as res:
                return res.status, json.loads(res.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")


class Server(Session):
    """``python -m experiments.survey serve SURVEY --port 0 [ARGS]`` in a subprocess; ``kill()`` is ``kill -9``.
    Its own ``get`` / ``post`` are one anonymous browser; :meth:`session` opens another."""

    def __init__(self, survey: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "experiments.survey", "serve", str(survey), "--port", "0",
                                      *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"the survey server did not start: {line!r}")
        super().__init__(f"http://127.0.0.1:{match.group(1)}")

    def session(self) -> Session:
        """A fresh browser (an empty cookie jar) on this server."""
        return Session(self.url)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def page_data(html: str) -> dict:
    """The JSON a survey page embeds for survey.js (token, task, …)."""
    match = re.search(r'<script id="survey-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))
