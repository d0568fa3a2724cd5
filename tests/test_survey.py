"""The survey without a browser: build, analyze's numbers (Table 17 layout, scipy's exact binomial test),
and the server's refusals and durability (a ``kill -9`` loses no committed answer)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from scipy.stats import binomtest

from experiments.survey.__main__ import main as survey_main
from experiments.survey.analyze import agreement, render, table
from experiments.survey.qualification import make_triplets, score
from experiments.survey.client import Server, page_data


@pytest.fixture(scope="module")
def survey(survey_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("survey") / "s"
    assert survey_main(["build", str(survey_runs), "--pair", "hypercon:framewise", "--question", "preferred,adherence",
                        "--out", str(out), "--mturk", "--media-url", "https://example.org/media"]) == 0
    return out


def test_build_records_order_reference_and_qualification(survey):
    spec = json.loads((survey / "survey.json").read_text())
    tasks = spec["tasks"]
    assert len(tasks) == 20 and {t["question"] for t in tasks} == {"preferred", "adherence"}
    assert all({t["left"], t["right"]} == {"hypercon", "framewise"} for t in tasks)
    assert 0 < sum(t["left"] == "hypercon" for t in tasks) < 20  # randomised, recorded
    assert all((t["reference_clip"] is not None) == (t["question"] == "adherence") for t in tasks)
    xml = (survey / "mturk" / "t0000.xml").read_text()
    page = xml.split("CDATA[")[1]
    assert "<HTMLQuestion" in xml and "externalSubmit" in page and "https://example.org/media/" in page
    assert "framewise" not in page and "method=hypercon" not in page  # blind: clips are opaque ids
    qual = json.loads((survey / "qualification.json").read_text())
    assert len(qual["triplets"]) == 10 and qual["pass_mark"] == 8


def test_qualification_triplets_match_the_reference_exactly():
    videos, triplets = make_triplets(num_frames=4, height=16, width=24)
    for t in triplets:
        right, wrong = t["candidates"][t["correct"]], t["candidates"][1 - t["correct"]]
        assert (videos[right] == videos[t["reference"]]).all()
        assert abs(videos[wrong].astype(int) - videos[t["reference"]].astype(int)).mean() > 10  # blatantly different
    assert score([t["correct"] for t in triplets], triplets) == 10


def test_analyze_numbers():
    spec = {"pair": ["hypercon", "vcons"], "questions": {"preferred": "?", "adherence": "?"},
            "tasks": [{"id": f"t{i}", "style": "wave", "dataset": "davis" if i < 10 else "activitynet",
                       "question": "preferred"} for i in range(12)]}
    rows = [{"task": f"t{i}", "chosen": "hypercon" if i < 7 else "vcons", "difficult": i == 0} for i in range(10)]
    rows += [{"task": "t10", "chosen": c, "difficult": False} for c in ("hypercon", "hypercon", "vcons")]
    out = table(spec, rows)
    davis = next(r for r in out if r["dataset"] == "davis")
    assert (davis["n"], davis["hypercon"], davis["hypercon_pct"]) == (10, 7, 70.0)
    assert davis["p_value"] == binomtest(7, 10, 0.5).pvalue and davis["difficult"] == 0.1
    assert davis["agreement"] is None
    other = next(r for r in out if r["dataset"] == "activitynet")
    assert other["agreement"] == pytest.approx(1 / 3) and other["agreement_tasks"] == 1  # 1 of 3 pairs agree
    assert next(r for r in out if r["dataset"] == "all")["n"] == 13  # Table 17(a): over datasets
    md = render(spec, rows, "md")
    assert "| wave | davis | Preferred | 70.0% | 30.0% | 7 | 3 | 10 | 0.3438 | 10.0% | – |" in md
    parsed = list(csv.DictReader(io.StringIO(render(spec, rows, "csv"))))
    assert float(parsed[0]["p_value"]) == binomtest(int(parsed[0]["hypercon"]), int(parsed[0]["n"])).pvalue
    assert r"\toprule" in render(spec, rows, "tex")
    assert agreement([["a", "a"], ["a", "b"], ["a"]]) == (0.5, 2)


def test_server_refuses_bad_posts_and_survives_kill(survey, capsys):
    qual = json.loads((survey / "qualification.json").read_text())
    correct = [t["correct"] for t in qual["triplets"]]
    server = Server(survey)
    w1 = server.session()  # the browser that claims worker w1 (and keeps its cookie)
    try:
        status, html = w1.get("/qualify?worker=w1")
        token = page_data(html)["token"]
        assert w1.post("/qualify", {"worker": "w1", "token": token, "answers": correct})[1]["qualified"]
        assert w1.post("/qualify", {"worker": "w1", "token": token, "answers": correct})[0] == 409  # replay
        accepted = []
        for _ in range(3):
            data = page_data(w1.get("/next?worker=w1")[1])
            post = {"worker": "w1", "token": data["token"], "task": data["task"], "answer": "left", "difficult": False,
                    "time_on_page_ms": 1234}
            assert w1.post("/answer", post)[0] == 200
            accepted.append(data["task"])
        assert w1.post("/answer", post)[0] == 409  # the same post again
        data = page_data(w1.get("/next?worker=w1")[1])
        forged = {**post, "token": data["token"]}  # a live token of another task, on an answered task
        assert w1.post("/answer", forged)[0] == 403
        assert w1.post("/answer", b"{not json")[0] == 400
        assert w1.post("/answer", {**post, "token": data["token"], "task": data["task"], "answer": "up"})[0] == 400
        assert w1.post("/answer", {**post, "worker": "bad worker!"})[0] == 400
        assert server.get("/next?worker=nobody")[0] == 403  # never qualified
        assert server.get("/qualification.json")[0] == 404  # the answers are not served
        server.kill()
        server = Server(survey)
        w1.url = server.url  # the same browser (cookie) on the restarted server
        assert w1.post("/answer", post)[0] == 409  # still answered after the restart
        ok = {**post, "token": data["token"], "task": data["task"]}
        assert w1.post("/answer", ok)[0] == 200  # its token survived too
    finally:
        server.kill()
    capsys.readouterr()
    assert survey_main(["export", str(survey), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["task"] for r in rows] == [*accepted, data["task"]]
    assert all(r["worker"] == "w1" and r["time_on_page_ms"] == "1234" and r["qualified"] == "1" for r in rows)
    assert {r["chosen"] for r in rows} <= {"hypercon", "framewise"}
