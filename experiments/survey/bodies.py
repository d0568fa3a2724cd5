"""What a survey post may contain, checked before anything is stored: the size (:data:`MAX_BODY`), the nesting
depth of the JSON (:data:`MAX_DEPTH`, counted on the raw bytes before parsing, so a 30,000-deep array never
reaches the recursive parser) and its shape (:data:`SHAPES`: exactly these keys, of these types). Each
refusal is :class:`~experiments.survey.db.Refused` with status 400 and a message naming the problem."""

from __future__ import annotations

import json
import re
from typing import Any

from experiments.survey.db import Refused

MAX_BODY = 64 * 1024  # bytes; a real post is under 1 KB
MAX_DEPTH = 2  # an object holding a list of numbers (the qualification answers)
WORKER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: endpoint -> {key: type}; bool is checked exactly (``True`` is no int here, ``1`` is no bool)
SHAPES: dict[str, dict[str, type]] = {
    "/qualify": {"worker": str, "token": str, "answers": list},
    "/answer": {"worker": str, "token": str, "task": str, "answer": str, "difficult": bool, "time_on_page_ms": int},
}


def json_depth(raw: bytes) -> int:
    """The deepest nesting of ``[`` / ``{`` in JSON text ``raw`` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            escaped, in_string = (False, True) if escaped else (byte == 0x5C, byte != 0x22)
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def check_shape(body: Any, shape: dict[str, type]) -> dict[str, Any]:
    """``body`` if it is an object with exactly ``shape``'s keys, each of its type; else Refused(400)."""
    if not isinstance(body, dict):
        raise Refused(400, f"the body must be a JSON object with keys {', '.join(shape)}")
    if set(body) != set(shape):
        missing, extra = sorted(set(shape) - set(body)), sorted(set(body) - set(shape))
        raise Refused(400, f"the body must have exactly the keys {', '.join(shape)} (missing: "
                           f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'})")
    for key, kind in shape.items():
        if type(body[key]) is not kind:
            raise Refused(400, f"{key} must be a JSON {kind.__name__}, got {type(body[key]).__name__}")
    if not WORKER.match(body["worker"]):
        raise Refused(400, "worker must be 1-64 letters, digits, - or _")
    return body


def parse_body(raw: bytes, endpoint: str) -> dict[str, Any]:
    """The checked JSON object of a post to ``endpoint`` (a key of :data:`SHAPES`); Refused(400) otherwise."""
    if len(raw) > MAX_BODY:
        raise Refused(400, f"the body is over {MAX_BODY} bytes")
    if json_depth(raw) > MAX_DEPTH:
        raise Refused(400, f"the JSON is nested deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the body is not JSON") from None
    return check_shape(body, SHAPES[endpoint])
