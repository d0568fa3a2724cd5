"""A survey answered by a script: build it from runs, serve it, let scripted workers answer every task over
HTTP, and print the server's throughput and the analysis (Table 17 layout).

    python benchmarks/bench_survey.py RUNS... --pair hypercon:vcons [--question preferred,adherence]
        [--workers 5] [--prefer 0.7] [--seed 0] [--out SURVEY/]

Each worker passes the qualification test (it reads the answers from ``qualification.json``, as only a
script can), then answers until no task is left for it; it picks the pair's first method with probability
``--prefer`` and ticks "difficult" with probability 0.05. The answers are made up: this measures the harness
(the whole loop, the server's answers per second, analyze's table), not people.

    python benchmarks/bench_survey.py --load [--workers 200] [--tasks 200] [--responses 5] [--kill-after 300]
        [--max-seconds 120]

``--load``: the server under the documented load, on loopback only, bounded in count (every worker stops when
no task is left for it: at most ``tasks × responses`` answers) and in time (``--max-seconds``). A synthetic
survey (no media) is served; ``--workers`` browsers (threads, each its own cookie) qualify and answer at
once. After ``--kill-after`` acknowledged answers the server is killed with ``kill -9`` and restarted on the
same folder, and the workers carry on. Prints requests/s and latency percentiles (p50, p99) of the phase
before the kill and checks, after the kill and at the end: every acknowledged answer is stored exactly once,
no worker answered a task twice, no task has more than ``--responses`` answers; exit 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiments.survey.analyze import render  # noqa: E402
from experiments.survey.build import build_survey, parse_pair, parse_questions  # noqa: E402
from experiments.survey.client import Server, page_data  # noqa: E402
from experiments.survey.db import db_path, responses  # noqa: E402
from survey_load import run_load  # noqa: E402


def answer_all(server: Server, worker: str, survey: dict, qual: dict, prefer: float, rng) -> int:
    """Qualify ``worker`` and answer every task left for it; returns the number of answers accepted."""
    token = page_data(server.get(f"/qualify?worker={worker}")[1])["token"]
    status, reply = server.post("/qualify", {"worker": worker, "token": token,
                                             "answers": [t["correct"] for t in qual["triplets"]]})
    assert status == 200 and reply["qualified"], reply
    tasks = {t["id"]: t for t in survey["tasks"]}
    accepted = 0
    while True:
        status, html = server.get(f"/next?worker={worker}")
        if "survey-data" not in html:
            return accepted
        data = page_data(html)
        task = tasks[data["task"]]
        choice = survey["pair"][0] if rng.random() < prefer else survey["pair"][1]
        body = {"worker": worker, "token": data["token"], "task": data["task"],
                "answer": "left" if task["left"] == choice else "right", "difficult": bool(rng.random() < 0.05),
                "time_on_page_ms": int(rng.integers(8000, 40000))}
        status, reply = server.post("/answer", body)
        assert status == 200, reply
        accepted += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*")
    parser.add_argument("--pair", default=None)
    parser.add_argument("--question", default="preferred,adherence")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--prefer", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="survey folder (default: a temporary one)")
    parser.add_argument("--load", action="store_true", help="the server under load, with a kill -9 (see above)")
    parser.add_argument("--tasks", type=int, default=200, help="(--load) tasks of the synthetic survey")
    parser.add_argument("--responses", type=int, default=5, help="(--load) responses wanted per task")
    parser.add_argument("--kill-after", type=int, default=300, help="(--load) answers acknowledged before kill -9")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="(--load) stop every worker after this")
    args = parser.parse_args(argv)
    if args.load:
        return run_load(args.workers, args.tasks, args.responses, args.kill_after, args.max_seconds)
    if not args.runs or not args.pair:
        parser.error("RUNS and --pair are needed (or --load)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or Path(tmp) / "survey")
        t0 = time.perf_counter()
        survey = build_survey(args.runs, parse_pair(args.pair), parse_questions(args.question), out, seed=args.seed,
                              responses=args.workers)
        built = time.perf_counter() - t0
        qual = json.loads((out / "qualification.json").read_text())
        rng = np.random.default_rng(args.seed)
        server = Server(out)
        try:
            t0 = time.perf_counter()
            answers = sum(answer_all(server, f"w{k}", survey, qual, args.prefer, rng) for k in range(args.workers))
            elapsed = time.perf_counter() - t0
        finally:
            server.kill()
        print(f"{len(survey['tasks'])} tasks, {args.workers} workers, {answers} answers in {elapsed:.1f} s "
              f"({answers / elapsed:.1f} answers/s incl. page requests); build {built:.1f} s\n")
        print(render(survey, responses(db_path(out)), "md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
