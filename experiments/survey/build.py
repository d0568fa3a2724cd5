"""``python -m experiments.survey build``: the tasks of a two-alternative forced-choice survey (HyperCon
appendix A.2) from run or sweep folders, plus the qualification test.

Layout under ``SURVEY/``::

    survey.json            pair, questions, responses wanted per task, seed, the tasks (left/right recorded)
    qualification.json     the 10 triplets and their answers (never served)
    media/<clip>/00000.jpg frames of each clip appearance; names are random and each appearance has its own, so
                           a name tells neither the method nor which candidate equals the reference
    assets/                survey.js, survey.css
    mturk/<task>.xml       HTMLQuestion per task (``--mturk``), for upload by the user
    responses.sqlite       the answers (written by ``serve``)
"""

from __future__ import annotations

import logging
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from experiments.store import atomic_write_json
from experiments.survey.spec import QUESTIONS, RESPONSES_PER_TASK, STATIC
from experiments.viewer.discover import Panel, VideoGroup, discover
from experiments.viewer.images import fit_size, write_jpegs
from experiments.viewer.site import read_rgb
from hypercon.errors import SettingError

log = logging.getLogger(__name__)



def parse_pair(text: str) -> tuple[str, str]:
    """``"hypercon:vcons"`` → ``("hypercon", "vcons")``; SettingError naming ``--pair`` otherwise."""
    parts = [p.strip() for p in str(text).split(":")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise SettingError(f"--pair must be two different method names as A:B (e.g. hypercon:vcons), got {text!r}")
    return parts[0], parts[1]


def parse_questions(text: str) -> list[str]:
    """``"preferred,adherence"`` → the list; SettingError naming ``--question`` for an unknown one."""
    names = [q.strip() for q in str(text).split(",") if q.strip()]
    bad = [q for q in names if q not in QUESTIONS]
    if not names or bad:
        raise SettingError(f"--question must be a comma-separated subset of {', '.join(QUESTIONS)}, got {text!r}")
    return list(dict.fromkeys(names))


def clip_id() -> str:
    """A fresh random media name (64 bits): it says nothing about the method, the video or the answer."""
    return secrets.token_hex(8)


def _find(group: VideoGroup, name: str) -> Panel | None:
    found = [p for p in group.panels if name in (p.method, p.label)]
    return found[0] if found else None


def _reference(group: VideoGroup) -> Panel | None:
    return next((p for p in group.panels if p.is_reference), None)


class ClipWriter:
    """Writes one appearance of a clip (its JPEG frames) under ``media/<random id>/``; returns the id. The same
    clip shown twice (the reference and the identical candidate of a qualification triplet, the frame-wise video
    as video 1 and as a candidate) gets two names, so comparing names gives no answer away."""

    def __init__(self, root: Path, quality: int, max_side: int) -> None:
        self.root, self.quality, self.max_side = root, quality, max_side
        self.written: dict[str, int] = {}

    def __call__(self, frames: list[np.ndarray] | np.ndarray, length: int) -> str:
        cid = clip_id()
        size = fit_size(frames[0].shape[1], frames[0].shape[0], self.max_side)
        self.written[cid] = write_jpegs(list(frames)[:length], self.root / "media" / cid, size, self.quality)
        return cid


def build_survey(runs: list[Path | str], pair: tuple[str, str], questions: list[str], out: Path | str,
                 seed: int = 0, quality: int = 85, max_side: int = 480, responses: int = RESPONSES_PER_TASK,
                 mturk: bool = False, media_url: str | None = None) -> dict[str, Any]:
    """Write the survey folder; returns ``survey.json``'s content."""
    from experiments.survey.pages import mturk_question
    from experiments.survey.qualification import PASS_MARK, make_triplets

    out = Path(out)
    if mturk and not media_url:
        raise SettingError("--mturk needs --media-url: the address where you will host SURVEY/media/ "
                           "(MTurk workers load the frames from there)")
    if (out / "responses.sqlite").exists():
        raise SettingError(f"{out / 'responses.sqlite'} exists: this survey already has answers; build into a new "
                           "folder (rebuilding would change the tasks they answered)")
    if (out / "survey.json").is_file():  # a rebuild: the old appearances' random names would linger
        shutil.rmtree(out / "media", ignore_errors=True)
    rng = np.random.default_rng(seed)
    write = ClipWriter(out, quality, max_side)
    tasks: list[dict[str, Any]] = []
    for group in discover([Path(r) for r in runs]):
        a, b = _find(group, pair[0]), _find(group, pair[1])
        if a is None or b is None:
            log.info("%s/%s: no %s output; skipped", group.setting, group.video, pair[1] if a else pair[0])
            continue
        ref = _reference(group)
        frames = {p.job: read_rgb(p.frames_dir) for p in (a, b, ref) if p is not None}
        length = min(len(f) for f in frames.values())
        left, right = (a, b) if rng.integers(2) == 0 else (b, a)  # one order per (style, video), as the paper
        for question in questions:
            if question == "adherence" and ref is None:
                log.warning("%s/%s: no frame-wise output for the adherence question; skipped", group.setting,
                            group.video)
                continue
            tasks.append({
                "id": f"t{len(tasks):04d}", "question": question, "dataset": group.dataset, "style": group.style,
                "video": group.video, "left": pair[0] if left is a else pair[1],
                "right": pair[0] if right is a else pair[1], "left_job": left.job, "right_job": right.job,
                "left_clip": write(frames[left.job], length), "right_clip": write(frames[right.job], length),
                "reference_clip": write(frames[ref.job], length) if question == "adherence" else None,
                "frames": length, "fps": group.fps})
    if not tasks:
        raise SettingError(f"no video under {', '.join(map(str, runs))} has outputs of both {pair[0]} and {pair[1]} "
                           "(check --pair against the method names of the runs)")
    videos, triplets = make_triplets(seed=seed)
    qual = [{"reference": write(videos[t["reference"]], 10**6),
             "candidates": [write(videos[c], 10**6) for c in t["candidates"]],
             "correct": t["correct"]} for t in triplets]
    atomic_write_json(out / "qualification.json", {"triplets": qual, "pass_mark": PASS_MARK,
                                                   "frames": int(next(iter(videos.values())).shape[0]), "fps": 8})
    survey = {"pair": list(pair), "questions": {q: QUESTIONS[q] for q in questions}, "responses_per_task": responses,
              "seed": seed, "tasks": tasks}
    atomic_write_json(out / "survey.json", survey)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    for asset in sorted(STATIC.iterdir()):
        shutil.copyfile(asset, out / "assets" / asset.name)
    if mturk:
        (out / "mturk").mkdir(exist_ok=True)
        for task in tasks:
            (out / "mturk" / f"{task['id']}.xml").write_text(mturk_question(task, survey, media_url))
    log.info("survey: %d task(s), %d clip(s), %.1f MB of frames in %s", len(tasks), len(write.written),
             sum(write.written.values()) / 1e6, out)
    return survey
