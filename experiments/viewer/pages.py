"""The viewer's HTML: an index page per (dataset, task), one page per video. Plain HTML that loads the
static ``viewer.js`` / ``viewer.css`` copied beside it; the page's data is embedded as JSON (a file:// page
may not fetch), so the site opens from disk with no server and no network."""

from __future__ import annotations

import json
from html import escape
from typing import Any

HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="{assets}/viewer.css"></head>
<body>
"""


def _head(title: str, assets: str) -> str:
    return HEAD.format(title=escape(title), assets=assets)


def home_page(entries: list[tuple[str, str, int, int]]) -> str:
    """The site's front page: one link per (dataset · task) page: ``(title, href, videos, methods)``."""
    items = "".join(f'<li><a href="{escape(href)}">{escape(title)}</a>: {videos} video(s), {methods} method(s)</li>'
                     for title, href, videos, methods in entries)
    return (_head("hypercon-bench viewer", "assets") + "<h1>hypercon-bench viewer</h1>"
            f"<ul class=\"pages\">{items}</ul></body></html>\n")


def index_page(title: str, sections: list[dict[str, Any]]) -> str:
    """One (dataset, task): a table per setting (model, style), videos × methods, each cell a link to the
    video page with the key metrics of ``results.json``. ``sections``: ``{"setting", "methods": [label],
    "rows": [{"video", "href", "cells": {label: {metric: text}}}]}``. Column headers carry the anchor
    ``method-<slug>`` (the report's links land there)."""
    from experiments.viewer.discover import slug

    seen: set[str] = set()
    parts = [_head(title, "../assets"), f'<p><a href="../index.html">all pages</a></p><h1>{escape(title)}</h1>']
    for section in sections:
        heads = []
        for label in section["methods"]:
            anchor = f"method-{slug(label)}"
            attr = f' id="{anchor}"' if anchor not in seen else ""
            seen.add(anchor)
            heads.append(f"<th{attr}>{escape(label)}</th>")
        parts.append(f"<h2>{escape(section['setting'])}</h2><table class=\"index\"><tr><th>video</th>"
                     + "".join(heads) + "</tr>")
        for row in section["rows"]:
            cells = []
            for label in section["methods"]:
                metrics = row["cells"].get(label)
                text = "<br>".join(f"{escape(k)} {escape(v)}" for k, v in (metrics or {}).items())
                cells.append(f"<td>{text or ('–' if metrics is None else 'no metrics')}</td>")
            parts.append(f'<tr><td><a href="{escape(row["href"])}">{escape(row["video"])}</a></td>'
                         + "".join(cells) + "</tr>")
        parts.append("</table>")
    return "".join(parts) + "</body></html>\n"


def video_page(data: dict[str, Any], assets: str) -> str:
    """The synchronised player of one video: a canvas per panel (``data-panel``, ``data-frame`` = the frame
    drawn), the controls, the A/B wipe, the per-pair E_warp curve. ``data`` is embedded for ``viewer.js``."""
    panels = "".join(
        f'<figure class="panel" data-panel="{escape(p["id"])}" data-index="{i}" style="width:{data["width"]}px">'
        f'<canvas width="{data["width"]}" height="{data["height"]}" data-frame="-1"></canvas>'
        f'<figcaption><b>{i + 1}</b> {escape(p["label"])}'
        + "".join(f'<span class="metric">{escape(k)} {escape(v)}</span>' for k, v in p["metrics"].items())
        + "</figcaption></figure>"
        for i, p in enumerate(data["panels"]))
    options = "".join(f'<option value="{i}">{escape(p["label"])}</option>' for i, p in enumerate(data["panels"]))
    notes = "".join(f"<li>{escape(n)}</li>" for n in data["notes"])
    blob = json.dumps(data).replace("</", "<\\/")
    return (_head(data["title"], assets)
            + f'<p><a href="{escape(data["index"])}">index</a></p><h1>{escape(data["title"])}</h1>'
            + '<div class="controls">'
              '<button id="play" type="button">play</button>'
              '<button id="prev" type="button" title="←">◀ 1</button>'
              '<button id="next" type="button" title="→">1 ▶</button>'
              f'<input id="scrub" type="range" min="0" max="{data["frames"] - 1}" value="0" step="1">'
              '<span id="frame-label">frame 0</span>'
              '<label>speed <select id="speed"><option>0.25</option><option>0.5</option>'
              '<option selected>1</option><option>2</option></select></label>'
              '<label><input id="loop" type="checkbox" checked> loop</label>'
              '<label><input id="magnifier" type="checkbox"> magnifier (m)</label>'
              f'<label><input id="flicker" type="checkbox"{"" if data["has_maps"] else " disabled"}>'
              ' flicker view (f)</label>'
              '<span id="status">loading…</span></div>'
            + f'<div id="grid" class="grid">{panels}</div>'
            + '<h2>A/B wipe</h2><div class="wipe-controls">'
              f'<select id="wipe-a">{options}</select><input id="wipe-pos" type="range" min="0" max="1000" '
              f'value="500"><select id="wipe-b">{options}</select></div>'
              f'<canvas id="wipe" width="{data["width"]}" height="{data["height"]}" data-frame="-1"></canvas>'
            + '<h2>E_warp per frame pair</h2>'
              '<canvas id="curve" width="800" height="180" data-frame="-1"></canvas>'
            + f'<ul class="notes">{notes}</ul>'
            + '<p class="keys">keys: space play/pause · ← → one frame · 1–9 focus a panel (0 / Esc: all) · '
              'm magnifier · f flicker view</p>'
            + f'<script id="viewer-data" type="application/json">{blob}</script>'
            + f'<script src="{assets}/viewer.js"></script></body></html>\n')
