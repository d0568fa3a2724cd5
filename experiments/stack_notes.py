"""One table, one stack: the notes a table gets when its rows were computed with different package versions,
at different commits of the harness, from a dirty work tree, or off the lock (:mod:`hypercon.stack`).

Each job's ``provenance.json`` records ``packages`` (the installed versions), ``code`` (commit, dirty) and
``lock`` (the lock's sha256 and the stack's drift from it). ``report --strict`` refuses a table with any such
note: a number meant for a paper comes from one clean commit on the locked stack.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypercon.errors import UserError
from hypercon.stack import STACK


class MixedStack(UserError):
    """``report --strict``: the rows of a table were not all computed on one clean, locked stack."""


def _jobs(counter: Counter) -> str:
    return ", ".join(f"{value} ({n} job{'s' if n > 1 else ''})" for value, n in sorted(counter.items()))


def stack_notes(results_by_job: dict[str, dict[str, Any]]) -> list[str]:
    """The notes for the jobs of one table, e.g. ``"rows computed with opencv-python-headless 5.0.0.93 (3
    jobs), 5.1.0.95 (1 job)"``. Jobs that recorded nothing (older results) are left out of the comparison."""
    provenances = {job: (res.get("provenance") or {}) for job, res in results_by_job.items()}
    notes = []
    for package in STACK:
        versions = Counter(str(p["packages"][package]) for p in provenances.values()
                           if isinstance(p.get("packages"), dict) and package in p["packages"])
        if len(versions) > 1:
            notes.append(f"rows computed with {package} {_jobs(versions)}")
    codes = {job: p.get("code") for job, p in provenances.items() if isinstance(p.get("code"), dict)}
    commits = Counter(str(code.get("commit"))[:12] for code in codes.values())
    if len(commits) > 1:
        notes.append(f"rows computed at {len(commits)} commits of the harness: {_jobs(commits)}")
    dirty = sorted(job for job, code in codes.items() if code.get("dirty"))
    if dirty:
        notes.append(f"rows computed from a dirty work tree (uncommitted changes): {', '.join(dirty)}")
    off_lock = {}
    for job, p in provenances.items():
        drift = (p.get("lock") or {}).get("drift") if isinstance(p.get("lock"), dict) else None
        if isinstance(drift, dict) and drift:
            off_lock[job] = ", ".join(f"{name} {(d or {}).get('installed')} (locked {(d or {}).get('locked')})"
                                      for name, d in sorted(drift.items()) if isinstance(d, dict))
    if off_lock:
        notes.append("rows computed off the lock: " + "; ".join(f"{job}: {what}" for job, what in sorted(off_lock.items())))
    return notes


def refuse_mixed(table: str, notes: list[str]) -> None:
    """``--strict``: raise :class:`MixedStack` naming the table and the first reason when ``notes`` is not empty."""
    if notes:
        raise MixedStack(f"--strict: table {table} is not from one clean, locked stack: {notes[0]}"
                         + (f" (and {len(notes) - 1} more)" if len(notes) > 1 else "")
                         + "; rerun the rows on one stack, or drop --strict to get the table with these notes")
