"""``python -m experiments.survey analyze SURVEY/ --format md|tex|csv``: the answers in the layout of the
HyperCon paper's appendix Table 17 (rows style × dataset × question, plus "all" datasets per style and question
as in Table 17(a)); ``export SURVEY/ --csv``: the raw responses.

Columns: the percentage of responses choosing each method of the pair and the counts, n, the exact two-sided
binomial p-value against 50% (``scipy.stats.binomtest``), the share of responses marked "difficult" and,
where several workers answered one task, their agreement: the mean over such tasks of the share of worker
pairs that chose the same video.
"""

from __future__ import annotations

import csv
import io
from math import comb
from typing import Any

from scipy.stats import binomtest

QUESTION_NAMES = {"preferred": "Preferred", "adherence": "Style adherence"}
ALL = "all"


def agreement(votes_per_task: list[list[str]]) -> tuple[float | None, int]:
    """(mean share of agreeing pairs over tasks with ≥ 2 votes, number of such tasks); (None, 0) without."""
    shares = []
    for votes in votes_per_task:
        m = len(votes)
        if m < 2:
            continue
        same = sum(comb(votes.count(v), 2) for v in set(votes))
        shares.append(same / comb(m, 2))
    return (sum(shares) / len(shares), len(shares)) if shares else (None, 0)


def summarise(rows: list[dict[str, Any]], pair: tuple[str, str]) -> dict[str, Any]:
    """Counts, percentages, p-value, difficult rate and agreement of ``rows`` (responses) for ``pair``."""
    a, b = pair
    n = len(rows)
    count_a = sum(r["chosen"] == a for r in rows)
    by_task: dict[str, list[str]] = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append(r["chosen"])
    agree, tasks = agreement(list(by_task.values()))
    return {"n": n, a: count_a, b: n - count_a, f"{a}_pct": 100.0 * count_a / n if n else None,
            f"{b}_pct": 100.0 * (n - count_a) / n if n else None,
            "p_value": binomtest(count_a, n, 0.5, alternative="two-sided").pvalue if n else None,
            "difficult": sum(bool(r["difficult"]) for r in rows) / n if n else None,
            "agreement": agree, "agreement_tasks": tasks}


def table(survey: dict[str, Any], responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (style, dataset, question) with answers, then per (style, question) over all datasets
    when there are several datasets."""
    pair = tuple(survey["pair"])
    tasks = {t["id"]: t for t in survey["tasks"]}
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in responses:
        task = tasks.get(r["task"])
        if task is None:
            continue
        groups.setdefault((task["style"], task["dataset"], task["question"]), []).append(r)
    order = list(survey["questions"])
    keys = sorted(groups, key=lambda k: (k[0], k[1], order.index(k[2]) if k[2] in order else 99))
    out = [{"style": s, "dataset": d, "question": q, **summarise(groups[(s, d, q)], pair)} for s, d, q in keys]
    if len({d for _, d, _ in keys}) > 1:
        for style in sorted({s for s, _, _ in keys}):
            for q in order:
                rows = [r for (s, _, qq), rs in groups.items() if s == style and qq == q for r in rs]
                if rows:
                    out.append({"style": style, "dataset": ALL, "question": q, **summarise(rows, pair)})
    return out


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}%"


def _p(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def _cells(row: dict[str, Any], pair: tuple[str, str]) -> list[str]:
    a, b = pair
    agree = "–" if row["agreement"] is None else f"{100 * row['agreement']:.1f}% ({row['agreement_tasks']} tasks)"
    return [row["style"], row["dataset"], QUESTION_NAMES.get(row["question"], row["question"]), _pct(row[f"{a}_pct"]),
            _pct(row[f"{b}_pct"]), str(row[a]), str(row[b]), str(row["n"]), _p(row["p_value"]),
            _pct(None if row["difficult"] is None else 100 * row["difficult"]), agree]


def headers(pair: tuple[str, str]) -> list[str]:
    a, b = pair
    return ["Style", "Dataset", "Question", f"{a} %", f"{b} %", a, b, "n", "p-value", "difficult", "agreement"]


TITLE = "Table 17 (layout): two-alternative forced choice, {a} vs {b}"
NOTE = ("p-value: exact two-sided binomial test against 50% (scipy.stats.binomtest); difficult: share of responses "
        "with the difficult box ticked; agreement: mean share of agreeing worker pairs over the tasks that several "
        "workers answered; only qualified workers' answers exist.")


def render(survey: dict[str, Any], responses: list[dict[str, Any]], fmt: str) -> str:
    """The table as ``md``, ``tex`` (booktabs) or ``csv`` (full-precision numbers)."""
    pair = tuple(survey["pair"])
    rows = table(survey, responses)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        keys = ["style", "dataset", "question", f"{pair[0]}_pct", f"{pair[1]}_pct", pair[0], pair[1], "n", "p_value",
                "difficult", "agreement", "agreement_tasks"]
        writer.writerow(keys)
        for row in rows:
            writer.writerow(["" if row[k] is None else row[k] for k in keys])
        return buf.getvalue()
    title = TITLE.format(a=pair[0], b=pair[1])
    if fmt == "md":
        lines = [f"**{title}**", "", "| " + " | ".join(headers(pair)) + " |", "|---|---|---|" + "---:|" * 8]
        lines += ["| " + " | ".join(_cells(r, pair)) + " |" for r in rows]
        return "\n".join([*lines, "", NOTE]) + "\n"
    if fmt == "tex":
        from experiments.tables import tex_escape as _tex

        out = [r"\begin{table}[t]", r"\centering", r"\caption{" + _tex(title) + "}",
               r"\begin{tabular}{lll" + "r" * 8 + "}", r"\toprule",
               " & ".join(_tex(h) for h in headers(pair)) + r" \\", r"\midrule"]
        out += [" & ".join(_tex(c) for c in _cells(r, pair)) + r" \\" for r in rows]
        out += [r"\bottomrule", r"\end{tabular}", r"\par\footnotesize " + _tex(NOTE), r"\end{table}"]
        return "\n".join(out) + "\n"
    raise ValueError(f"--format must be md, tex or csv, got {fmt!r}")


def export_csv(responses: list[dict[str, Any]]) -> str:
    """The raw responses (one row each, :data:`experiments.survey.db.COLUMNS`)."""
    from experiments.survey.db import COLUMNS

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(responses)
    return buf.getvalue()
