"""The paper's two-alternative forced-choice human study (HyperCon appendix A.2–A.3), offline:

    python -m experiments.survey build RUNS... --pair hypercon:vcons --question preferred,adherence --out SURVEY/
    python -m experiments.survey serve SURVEY/ --port 8000          # http://127.0.0.1:8000/
    python -m experiments.survey analyze SURVEY/ --format md         # Table 17 layout
    python -m experiments.survey export SURVEY/ --csv                # raw responses

Modules: :mod:`.build` (tasks + qualification), :mod:`.qualification`, :mod:`.server`, :mod:`.db` (SQLite),
:mod:`.analyze`, :mod:`.pages` (+ ``static/``). No network service is ever called.
"""
