"""``bench_survey.py --load``: the survey server under concurrent workers on loopback, with a ``kill -9`` and a
restart in the middle; requests/s, latency percentiles and the no-loss / no-duplicate checks."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
import urllib.error
from http.client import HTTPException
from pathlib import Path

import numpy as np

from experiments.survey.client import Server, Session, page_data
from experiments.survey.db import db_path, responses

log = logging.getLogger(__name__)
QUAL_SIZE = 10


def synthetic_survey(root: Path, num_tasks: int, per_task: int) -> list[int]:
    """Write a survey of ``num_tasks`` preference tasks (no media: the server never reads it) and a
    qualification test into ``root``; returns the test's correct answers."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tasks = [{"id": f"t{k:04d}", "question": "preferred", "dataset": "synthetic", "style": "s", "video": f"v{k}",
              "left": "a", "right": "b", "left_clip": f"l{k}", "right_clip": f"r{k}", "reference_clip": None,
              "frames": 2, "fps": 8} for k in range(num_tasks)]
    correct = [int(c) for c in rng.integers(0, 2, QUAL_SIZE)]
    triplets = [{"reference": f"q{k}", "candidates": [f"q{k}a", f"q{k}b"], "correct": c} for k, c in enumerate(correct)]
    (root / "survey.json").write_text(json.dumps({"pair": ["a", "b"], "questions": {"preferred": "?"},
                                                  "responses_per_task": per_task, "seed": 0, "tasks": tasks}))
    (root / "qualification.json").write_text(json.dumps({"triplets": triplets, "pass_mark": 8, "frames": 2,
                                                         "fps": 8}))
    return correct


class Load:
    """What the workers share: the server's address, the acknowledged answers, the latencies, the failures."""

    def __init__(self, url: str, deadline: float) -> None:
        self.url, self.deadline = url, deadline
        self.lock = threading.Lock()
        self.up = threading.Event()
        self.up.set()
        self.acked: list[tuple[str, str]] = []
        self.latency: list[tuple[float, float]] = []  # (finished at, seconds)
        self.failed = {"before kill": 0, "during kill": 0}
        self.killed = False
        self.refused = self.locked_out = 0

    def timed(self, call, *args):
        """``call(*args)``, its latency recorded on success."""
        t0 = time.perf_counter()
        result = call(*args)
        t1 = time.perf_counter()
        with self.lock:
            self.latency.append((t1, t1 - t0))
        return result

    def lost(self) -> None:
        """A request that got no reply: count it and wait until the server is up again."""
        with self.lock:
            self.failed["during kill" if self.killed else "before kill"] += 1
        self.up.wait(timeout=max(0.0, self.deadline - time.perf_counter()))


def _step(load: Load, session: Session, worker: str, correct: list[int], qualified: bool) -> str:
    """One step of a worker: "qualified", "answered", "refused", "locked out" or "done"."""
    if not qualified:
        status, html = load.timed(session.get, f"/qualify?worker={worker}")
        if status == 403:  # the kill came between claiming the id and the cookie reaching this browser
            return "locked out"
        data = page_data(html)
        if data["mode"] != "qualification":  # the kill swallowed the reply to a test that passed
            return "qualified"
        status, reply = load.timed(session.post, "/qualify", {"worker": worker, "token": data["token"],
                                                              "answers": correct})
        assert status == 200 and reply["qualified"], reply
        return "qualified"
    html = load.timed(session.get, f"/next?worker={worker}")[1]
    if "survey-data" not in html:
        return "done"
    data = page_data(html)
    status, _ = load.timed(session.post, "/answer", {"worker": worker, "token": data["token"], "task": data["task"],
                                                     "answer": "left", "difficult": False, "time_on_page_ms": 1})
    if status == 200:
        with load.lock:
            load.acked.append((worker, data["task"]))
        return "answered"
    return "refused"


def worker_loop(load: Load, worker: str, correct: list[int]) -> None:
    """Qualify ``worker``, then answer until no task is left for it or the time is up."""
    session, qualified = Session(load.url), False
    while time.perf_counter() < load.deadline:
        session.url = load.url
        try:
            step = _step(load, session, worker, correct, qualified)
        except (OSError, HTTPException, urllib.error.URLError, ValueError):
            load.lost()  # the server went away mid-request (kill -9); the reply, not the answer, may be lost
            continue
        qualified = qualified or step == "qualified"
        if step == "refused":
            with load.lock:
                load.refused += 1
        if step == "locked out":
            with load.lock:
                load.locked_out += 1
        if step in ("done", "locked out"):
            return


def check(db_file: Path, acked: list[tuple[str, str]], per_task: int) -> list[str]:
    """Problems: an acknowledged answer not stored, a (worker, task) stored twice, a task over its cap."""
    stored = [(r["worker"], r["task"]) for r in responses(db_file)]
    problems = [f"acknowledged but not stored: {a}" for a in sorted(set(acked) - set(stored))]
    problems += [f"stored twice: {a}" for a in sorted({a for a in stored if stored.count(a) > 1})]
    counts = {t: sum(1 for _, u in stored if u == t) for _, t in stored}
    problems += [f"task {t} has {n} answers (cap {per_task})" for t, n in sorted(counts.items()) if n > per_task]
    return problems


def _report(load: Load, start: float, killed_at: float, workers: int) -> None:
    before = np.array([lat for end, lat in load.latency if end <= killed_at])
    rate = len(before) / (killed_at - start)
    p50, p99 = (np.percentile(before, [50, 99]) * 1000).round(1) if len(before) else (float("nan"),) * 2
    print(f"{workers} concurrent workers on 127.0.0.1: {len(before)} requests in {killed_at - start:.1f} s before "
          f"kill -9 = {rate:.0f} requests/s, latency p50 {p50} ms, p99 {p99} ms")
    print(f"requests without a reply: {load.failed['before kill']} before the kill, {load.failed['during kill']} "
          f"around it; answers refused (task full or already answered): {load.refused}; workers locked out of "
          f"their id (their cookie was lost in the kill): {load.locked_out}")


def run_load(workers: int, num_tasks: int, per_task: int, kill_after: int, max_seconds: float) -> int:
    """The ``--load`` benchmark (see ``bench_survey.py``); 0 if every check holds, else 1."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "load"
        correct = synthetic_survey(root, num_tasks, per_task)
        server = Server(root)
        start = time.perf_counter()
        load = Load(server.url, start + max_seconds)
        threads = [threading.Thread(target=worker_loop, args=(load, f"w{k}", correct)) for k in range(workers)]
        for thread in threads:
            thread.start()
        while len(load.acked) < kill_after and any(t.is_alive() for t in threads) and time.perf_counter() < load.deadline:
            time.sleep(0.01)
        load.up.clear()
        load.killed, killed_at = True, time.perf_counter()
        server.kill()
        with load.lock:
            problems = check(db_path(root), load.acked, per_task)
        server = Server(root)
        load.url = server.url
        load.up.set()
        for thread in threads:
            thread.join(timeout=max(1.0, load.deadline - time.perf_counter()))
        server.kill()
        problems += check(db_path(root), load.acked, per_task)
        stored = len(responses(db_path(root)))
        _report(load, start, killed_at, workers)
        print(f"after the restart: {len(load.acked)} answers acknowledged, {stored} stored "
              f"({num_tasks * per_task} wanted); {'OK' if not problems else 'PROBLEMS: ' + '; '.join(problems[:5])}")
        return 0 if not problems and not any(t.is_alive() for t in threads) else 1
