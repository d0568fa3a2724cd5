"""The survey's pages (served by :mod:`experiments.survey.server`, or embedded in an MTurk HTMLQuestion):
synchronised clips drawn frame by frame on canvases (``survey.js``), the question, a "difficult" checkbox.
A page names clips by opaque ids only, never by method."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from experiments.survey.spec import QUESTIONS, STATIC

TOP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">
{style}</head><body><h1>{title}</h1>
"""


def _top(title: str, inline: bool = False) -> str:
    style = (f"<style>{(STATIC / 'survey.css').read_text()}</style>" if inline
             else '<link rel="stylesheet" href="/assets/survey.css">')
    return TOP.format(title=escape(title), style=style)


def _script(data: dict[str, Any], inline: bool = False) -> str:
    blob = json.dumps(data).replace("</", "<\\/")
    code = (f"<script>{(STATIC / 'survey.js').read_text()}</script>" if inline
            else '<script src="/assets/survey.js"></script>')
    return f'<script id="survey-data" type="application/json">{blob}</script>{code}</body></html>\n'


def _clip(clip: str, number: int, frames: int) -> str:
    return (f'<figure class="clip-box"><canvas class="clip" data-clip="{escape(clip)}" data-frames="{frames}" '
            f'data-frame="-1" width="160" height="96"></canvas><figcaption>{number}</figcaption></figure>')


def _choices(name: str, values: list[tuple[str, str]]) -> str:
    return "".join(f'<label class="choice"><input type="radio" name="{escape(name)}" value="{escape(v)}"> '
                   f"{escape(text)}</label>" for v, text in values)


CONTROLS = '<p class="controls"><button id="play" type="button">Play / Pause</button> <span id="status"></span></p>'


def message_page(title: str, text: str, link: tuple[str, str] | None = None) -> str:
    more = f'<p><a id="continue" href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return _top(title) + f'<p id="message">{escape(text)}</p>{more}</body></html>\n'


def start_page() -> str:
    return (_top("Video survey") + "<p>Enter your worker id to take the qualification test (10 questions; "
            "8 correct answers are needed), then answer the survey's questions.</p>"
            '<form method="get" action="/qualify"><input id="worker" name="worker" pattern="[A-Za-z0-9_\\-]{1,64}" '
            'required> <button id="start" type="submit">Start</button></form></body></html>\n')


def qualification_page(worker: str, token: str, qual: dict[str, Any]) -> str:
    blocks = []
    for k, triplet in enumerate(qual["triplets"]):
        clips = [triplet["reference"], *triplet["candidates"]]
        blocks.append(f'<section class="triplet" data-index="{k}"><h2>{k + 1}. {escape(QUESTIONS["adherence"])}</h2>'
                      + "".join(_clip(c, n, qual["frames"]) for n, c in enumerate(clips, 1))
                      + f'<div>{_choices(f"q{k}", [("0", "2"), ("1", "3")])}</div></section>')
    data = {"mode": "qualification", "worker": worker, "token": token, "media": "/media/", "fps": qual["fps"],
            "count": len(qual["triplets"])}
    return (_top("Qualification test") + CONTROLS + "".join(blocks)
            + '<p><button id="submit" type="button">Submit</button></p><p id="message"></p>' + _script(data))


def task_body(task: dict[str, Any], question: str) -> str:
    """The clips and the answer choices of one task (video 1 is the frame-wise reference for adherence)."""
    reference = [task["reference_clip"]] if task["question"] == "adherence" else []
    clips = reference + [task["left_clip"], task["right_clip"]]
    first = len(clips) - 1  # the number of the left video
    return (CONTROLS + '<div class="clips">' + "".join(_clip(c, n, task["frames"]) for n, c in enumerate(clips, 1))
            + f'</div><h2 id="question">{escape(question)}</h2>'
            + f'<div>{_choices("answer", [("left", str(first)), ("right", str(first + 1))])}</div>'
            + '<p><label><input id="difficult" type="checkbox" name="difficult" value="1"> '
              "This question was difficult</label></p>")


def task_page(worker: str, token: str, task: dict[str, Any], survey: dict[str, Any]) -> str:
    data = {"mode": "task", "worker": worker, "token": token, "task": task["id"], "media": "/media/",
            "fps": task["fps"]}
    return (_top("Video survey") + task_body(task, survey["questions"][task["question"]])
            + '<p><button id="submit" type="button">Submit</button></p><p id="message"></p>' + _script(data))


def mturk_question(task: dict[str, Any], survey: dict[str, Any], media_url: str) -> str:
    """An MTurk ``HTMLQuestion`` for ``task``: a self-contained page (inline JS/CSS) posting to MTurk's
    ``externalSubmit`` with ``assignmentId``, ``task``, ``answer``, ``difficult`` and ``time_on_page_ms``."""
    data = {"mode": "mturk", "task": task["id"], "media": media_url.rstrip("/") + "/", "fps": task["fps"]}
    page = (_top("Video survey", inline=True)
            + '<form id="mturk" method="post" action="https://www.mturk.com/mturk/externalSubmit">'
              '<input type="hidden" name="assignmentId" id="assignmentId">'
              f'<input type="hidden" name="task" value="{escape(task["id"])}">'
              '<input type="hidden" name="time_on_page_ms" id="time_on_page_ms">'
            + task_body(task, survey["questions"][task["question"]])
            + '<p><button id="submit" type="submit">Submit</button></p></form><p id="message"></p>'
            + _script(data, inline=True))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/'
            'AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">\n<HTMLContent><![CDATA[\n'
            + page.replace("]]>", "]]]]><![CDATA[>") + "]]>\n</HTMLContent>\n<FrameHeight>0</FrameHeight>\n"
            "</HTMLQuestion>\n")
