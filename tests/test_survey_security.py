"""The survey server against a hostile script (issue 26, items 7, 10–12): media names that give no answer away,
a worker id that only its own browser can use, a per-task cap that holds under concurrent posts, and a server
that stays up under stalled, deep, oversized or misshapen requests and a burst of connections."""

from __future__ import annotations

import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from experiments.survey.__main__ import main as survey_main
from experiments.survey.client import Server, Session, page_data


@pytest.fixture(scope="module")
def survey(survey_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("survey_sec") / "s"
    assert survey_main(["build", str(survey_runs), "--pair", "hypercon:framewise", "--question", "preferred,adherence",
                        "--out", str(out), "--responses", "2", "--mturk", "--media-url", "https://x.org/m"]) == 0
    return out


@pytest.fixture()
def server(survey):
    server = Server(survey, "--read-timeout", "1")
    yield server
    server.kill()


def correct_answers(survey: Path) -> list[int]:
    return [t["correct"] for t in json.loads((survey / "qualification.json").read_text())["triplets"]]


def qualify(server: Server, worker: str, answers: list[int]) -> Session:
    """A new browser that takes the test as ``worker`` and passes it."""
    session = server.session()
    token = page_data(session.get(f"/qualify?worker={worker}")[1])["token"]
    status, reply = session.post("/qualify", {"worker": worker, "token": token, "answers": answers})
    assert status == 200 and reply["qualified"], reply
    return session


def clips(html: str) -> list[str]:
    return re.findall(r'data-clip="([^"]+)"', html)


def test_no_media_name_gives_the_answer_away(survey, server):
    html = server.session().get("/qualify?worker=peek")[1]
    ids = clips(html)
    assert len(ids) == 30 and len(set(ids)) == 30  # before: the reference and the right candidate shared an id
    # a script that picks the candidate named like the reference no longer scores above chance
    guesses = [int(ids[3 * k + 2] == ids[3 * k]) for k in range(10)]
    assert guesses == [0] * 10
    spec = json.loads((survey / "survey.json").read_text())
    used = [c for t in spec["tasks"] for c in (t["left_clip"], t["right_clip"], t["reference_clip"]) if c]
    qual = json.loads((survey / "qualification.json").read_text())
    used += [c for t in qual["triplets"] for c in (t["reference"], *t["candidates"])]
    assert len(used) == len(set(used))  # each appearance of a clip has a name of its own
    for task in (t for t in spec["tasks"] if t["question"] == "adherence"):  # the frame-wise side vs video 1
        page = (survey / "mturk" / f"{task['id']}.xml").read_text()
        assert len(set(clips(page))) == 3
    assert all((survey / "media" / c / "00000.jpg").is_file() for c in used)


def test_a_worker_id_needs_the_secret_its_browser_was_issued(survey, server):
    victim = qualify(server, "victim", correct_answers(survey))
    status, html = victim.get("/next?worker=victim")
    data = page_data(html)
    attacker = server.session()
    assert attacker.get("/next?worker=victim")[0] == 403  # before: 200 and the victim's token
    assert attacker.get("/qualify?worker=victim")[0] == 403  # the id is taken: no new secret for it
    post = {"worker": "victim", "token": data["token"], "task": data["task"], "answer": "left", "difficult": False,
            "time_on_page_ms": 1000}
    assert attacker.post("/answer", post)[0] == 403  # even with a stolen token
    assert server.session().post("/qualify", {"worker": "newbie", "token": "x" * 32, "answers": [0] * 10})[0] == 403
    assert victim.post("/answer", post)[0] == 200


def test_the_per_task_cap_holds_under_concurrent_answers(survey, server):
    answers = correct_answers(survey)
    sessions = {f"c{k}": qualify(server, f"c{k}", answers) for k in range(12)}
    pages = {w: page_data(s.get(f"/next?worker={w}")[1]) for w, s in sessions.items()}
    task = pages["c0"]["task"]
    assert all(p["task"] == task for p in pages.values())  # all twelve were shown the same open task

    def answer(worker: str) -> int:
        return sessions[worker].post("/answer", {"worker": worker, "token": pages[worker]["token"], "task": task,
                                                 "answer": "right", "difficult": False, "time_on_page_ms": 10})[0]

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(answer, sessions))
    assert statuses.count(200) == 2 and statuses.count(409) == 10  # --responses 2; before: 12 stored
    assert server.get("/")[0] == 200


def _raw(server: Server, data: bytes, wait: float = 8.0) -> tuple[bytes, float]:
    """Send ``data`` on a raw connection; (what came back before the server closed, seconds it took)."""
    port = int(server.url.rsplit(":", 1)[1])
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        reply = b""
        try:
            while chunk := sock.recv(4096):
                reply += chunk
        except TimeoutError:
            return reply + b"<still open>", time.perf_counter() - t0
    return reply, time.perf_counter() - t0


def test_a_stalled_or_dripping_request_is_dropped(server):
    reply, took = _raw(server, b"POST /answer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    assert b"<still open>" not in reply and took < 5  # --read-timeout 1; before: held forever
    port = int(server.url.rsplit(":", 1)[1])
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:  # a header drip: 1 byte / 0.5 s
        sock.sendall(b"GET / HTTP/1.1\r\n")
        closed = False
        while time.perf_counter() - t0 < 8 and not closed:
            try:
                sock.sendall(b"X")
                time.sleep(0.5)
            except OSError:
                closed = True
        assert closed or sock.recv(10) == b""
    assert time.perf_counter() - t0 < 7
    assert server.get("/")[0] == 200


@pytest.mark.parametrize("body", [
    b"[" * 30000 + b"]" * 30000,  # before: RecursionError, no response
    json.dumps({"worker": "w", "token": "t", "task": {"a": [[[[{"b": 1}]]]]}}).encode(),
    json.dumps({"worker": "w", "token": "t", "task": "t0000", "answer": "left", "difficult": False,
                "time_on_page_ms": 1, "extra": 1}).encode(),
    json.dumps({"worker": ["w"], "token": "t"}).encode(),
    b'{"worker": "w", "token": "' + b"t" * 70000 + b'"}',
])
def test_deep_misshapen_or_oversized_json_gets_400(server, body):
    status, reply = server.post("/answer", body)
    assert status == 400 and reply["error"]


def test_a_burst_of_200_connections_is_served(survey, server):
    from experiments.survey.server import BACKLOG, make_server

    made = make_server(survey, port=0)
    try:
        assert made.request_queue_size == BACKLOG >= 200  # before: socketserver's 5
    finally:
        made.server_close()

    def get(_: int) -> int:
        try:
            return Session(server.url).get("/")[0]
        except OSError:
            return -1

    with ThreadPoolExecutor(200) as pool:
        statuses = list(pool.map(get, range(200)))
    assert statuses == [200] * 200
