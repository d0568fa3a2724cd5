"""The survey in a real browser (headless Chromium through Selenium), against the server as a subprocess:
a worker with 7/10 on the qualification test is refused; one with 9/10 answers the 10 tasks, preferring
HyperCon in 7; ``analyze`` then reports exactly 70.0% and scipy's p-value, also after a ``kill -9`` and a
restart of the server; a replayed post is refused."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from scipy.stats import binomtest

from browser import chromium, console_errors, wait_for
from experiments.survey.__main__ import main as survey_main
from experiments.survey.client import Server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def survey(survey_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("survey_browser") / "s"
    assert survey_main(["build", str(survey_runs), "--pair", "hypercon:framewise", "--question", "preferred",
                        "--out", str(out), "--seed", "3"]) == 0
    return out


@pytest.fixture(scope="module")
def driver(survey):
    yield from chromium()


@pytest.fixture(scope="module")
def server(survey):
    holder = {"server": Server(survey)}
    yield holder
    holder["server"].kill()


def take_test(driver, server, worker: str, wrong: int, correct: list[int]) -> str:
    driver.get(server.url + "/")
    driver.find_element("id", "worker").send_keys(worker)
    driver.find_element("id", "start").click()
    wait_for(driver, "document.body.dataset.loaded === '1'")
    for k, answer in enumerate(correct):
        choice = 1 - answer if k < wrong else answer
        driver.find_element("css selector", f'input[name="q{k}"][value="{choice}"]').click()
    driver.find_element("id", "submit").click()
    return wait_for(driver, "(location.pathname === '/next' && 'qualified') || "
                            "(document.getElementById('message').dataset.status && "
                            "document.getElementById('message').textContent)")


def test_seven_of_ten_is_refused(driver, server, survey):
    correct = [t["correct"] for t in json.loads((survey / "qualification.json").read_text())["triplets"]]
    assert take_test(driver, server["server"], "slow", 3, correct) == "7 of 10 correct: not qualified (8 needed)."
    driver.get(server["server"].url + "/next?worker=slow")
    assert "cannot answer tasks" in driver.find_element("id", "message").text
    assert driver.title == "Not qualified"
    assert [e for e in console_errors(driver) if "status of 403" not in e] == []  # the refusal itself only


def test_nine_of_ten_answers_with_a_seven_in_ten_preference(driver, server, survey, capsys):
    spec = json.loads((survey / "survey.json").read_text())
    tasks = {t["id"]: t for t in spec["tasks"]}
    correct = [t["correct"] for t in json.loads((survey / "qualification.json").read_text())["triplets"]]
    assert take_test(driver, server["server"], "keen", 1, correct) == "qualified"  # straight on to the tasks
    tokens = []
    for n in range(10):  # the pages follow one another: /next after each answer
        wait_for(driver, "document.getElementById('question') && document.body.dataset.loaded === '1'")
        data = driver.execute_script("return JSON.parse(document.getElementById('survey-data').textContent)")
        tokens.append(data)
        task = tasks[data["task"]]
        prefer = "hypercon" if n < 7 else "framewise"
        side = "left" if task["left"] == prefer else "right"
        driver.find_element("css selector", f'input[name="answer"][value="{side}"]').click()
        if n == 0:
            driver.find_element("id", "difficult").click()
        driver.find_element("id", "submit").click()
        wait_for(driver, f"!document.getElementById('survey-data') || "
                         f"JSON.parse(document.getElementById('survey-data').textContent).token !== '{data['token']}'")
    wait_for(driver, "document.title === 'Done'")
    assert console_errors(driver) == []

    def analysed() -> dict:
        capsys.readouterr()
        assert survey_main(["analyze", str(survey), "--format", "csv"]) == 0
        return next(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    row = analysed()
    assert (row["n"], row["hypercon"], row["hypercon_pct"], row["difficult"]) == ("10", "7", "70.0", "0.1")
    assert float(row["p_value"]) == binomtest(7, 10, 0.5).pvalue
    survey_main(["analyze", str(survey), "--format", "md"])
    assert "| 70.0% | 30.0% | 7 | 3 | 10 | 0.3438 |" in capsys.readouterr().out

    server["server"].kill()  # kill -9, then a fresh server on the same folder
    server["server"] = Server(survey)
    assert analysed() == row
    driver.get(server["server"].url + "/")
    first = tokens[0]
    replay = {"worker": "keen", "token": first["token"], "task": first["task"], "answer": "left", "difficult": False,
              "time_on_page_ms": 5}
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/answer', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: arguments[0]})"
        ".then(r => done(r.status));", json.dumps(replay))
    assert status == 409
    assert analysed() == row
