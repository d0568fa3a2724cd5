"""``python -m experiments.survey {build,serve,analyze,export}`` (see :mod:`experiments.survey`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hypercon.io.atomic import atomic_write_bytes
from hypercon.io.overwrite import refuse_overwrite
from hypercon.errors import EXIT_USER_ERROR, UserError, one_line


SURVEY_FILES = ("survey.json", "qualification.json", "responses.sqlite")  # what analyze / export must not replace


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m experiments.survey",
                                     description="A two-alternative forced-choice survey (HyperCon appendix A.2).")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write the tasks and the qualification test")
    build.add_argument("runs", nargs="+", help="run or sweep folders with the methods' saved frames")
    build.add_argument("--pair", required=True, help="the two methods compared, A:B (e.g. hypercon:vcons)")
    build.add_argument("--question", default="preferred,adherence", help="preferred, adherence or both (default)")
    build.add_argument("--out", required=True, help="the survey folder")
    build.add_argument("--seed", type=int, default=0, help="seeds the left/right order and the qualification test")
    build.add_argument("--responses", type=int, default=5, help="responses wanted per task (paper: 5)")
    build.add_argument("--quality", type=int, default=85, help="JPEG quality of the frames")
    build.add_argument("--max-side", type=int, default=480, help="longest side of the frames in pixels")
    build.add_argument("--mturk", action="store_true", help="also write an MTurk HTMLQuestion XML per task")
    build.add_argument("--media-url", default=None, help="(--mturk) where you will host SURVEY/media/")
    serve = sub.add_parser("serve", help="serve the survey on 127.0.0.1 and store the answers")
    serve.add_argument("survey")
    serve.add_argument("--port", type=int, default=8000, help="port (0: any free port, printed)")
    serve.add_argument("--read-timeout", type=float, default=10.0,
                       help="seconds one read of a request may wait (a connection lives at most 3x this)")
    analyze = sub.add_parser("analyze", help="the answers in Table 17's layout")
    analyze.add_argument("survey")
    analyze.add_argument("--format", choices=["md", "tex", "csv"], default="md")
    analyze.add_argument("--out", default=None, help="also write the table to this file")
    export = sub.add_parser("export", help="the raw responses")
    export.add_argument("survey")
    export.add_argument("--csv", dest="csv_out", nargs="?", const="-", default="-",
                        help="write CSV to this file (default: standard output)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "build":
            from experiments.survey.build import build_survey, parse_pair, parse_questions

            if args.responses < 1:
                raise ValueError(f"--responses must be at least 1, got {args.responses}")
            survey = build_survey(args.runs, parse_pair(args.pair), parse_questions(args.question), args.out,
                                  seed=args.seed, quality=args.quality, max_side=args.max_side,
                                  responses=args.responses, mturk=args.mturk, media_url=args.media_url)
            print(f"survey: {len(survey['tasks'])} task(s) in {args.out}")
        elif args.command == "serve":
            from experiments.survey.server import serve

            if args.read_timeout <= 0:
                raise ValueError(f"--read-timeout must be positive, got {args.read_timeout}")
            serve(Path(args.survey), args.port, args.read_timeout)
        else:
            from experiments.survey.analyze import export_csv, render
            from experiments.survey.db import db_path, responses
            from experiments.survey.server import load_survey

            survey, _ = load_survey(Path(args.survey))
            refuse_overwrite({"--out": getattr(args, "out", None),
                              "--csv": None if getattr(args, "csv_out", "-") == "-" else args.csv_out},
                             {name: Path(args.survey) / name for name in SURVEY_FILES})
            rows = responses(db_path(Path(args.survey)))
            if args.command == "analyze":
                text = render(survey, rows, args.format)
                if args.out:
                    atomic_write_bytes(Path(args.out), text.encode())
            else:
                text = export_csv(rows)
                if args.csv_out != "-":
                    atomic_write_bytes(Path(args.csv_out), text.encode())
                    text = f"{len(rows)} response(s) written to {args.csv_out}\n"
            sys.stdout.write(text)
    except (UserError, FileNotFoundError, ValueError, OSError) as exc:
        sys.stderr.write(f"python -m experiments.survey {args.command}: error: {one_line(exc)}\n")
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
