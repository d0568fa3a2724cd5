"""``python -m hypercon.weights status [-v] | download [NAMES] | record NAME [--path FILE] [--trust-pickle]``."""

from __future__ import annotations

import argparse
import logging
import sys

from hypercon.errors import EXIT_USER_ERROR, UserError, one_line
from hypercon.weights.registry import lock_path, record_weights, weights_status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hypercon.weights",
                                     description="Pretrained weights known to hypercon-bench.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--weights-dir", default=None,
                        help="weights folder (default: $HYPERCON_WEIGHTS; the torch hub cache is searched too)")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("status", parents=[common],
                        help="table (100 columns): name, tier, where found, verified or not, size")
    st.add_argument("names", nargs="*")
    st.add_argument("-v", "--verbose", action="store_true",
                    help="details under each row: role, file, full path, licence, source")
    dl = sub.add_parser("download", parents=[common],
                        help="download entries (needs internet; hash-checked, atomic)")
    dl.add_argument("names", nargs="*", help="default: every entry with an automatic download")
    dl.add_argument("--timeout", type=float, default=10.0, help="connection timeout in seconds")
    rec = sub.add_parser("record", parents=[common], help="write a file's observed sha256 into the user lock file")
    rec.add_argument("name")
    rec.add_argument("--path", default=None, help="explicit file (default: search as at run time)")
    rec.add_argument("--trust-pickle", action="store_true",
                     help="required for a legacy pickle: you vouch that the file is the original from its source")
    return parser


def format_status(rows: list, verbose: bool = False, width: int = 100) -> str:
    """The status table in at most ``width`` columns (long paths are left to ``--verbose``, where each row
    is followed by indented, wrapped detail lines)."""
    import textwrap

    from tabulate import tabulate

    def short(text: str, n: int) -> str:
        return text if len(text) <= n else text[: n - 1] + "…"

    table = [(short(r.name, 26), r.tier, short(r.found_in or "missing", 17), short(r.verified, 28), r.size)
             for r in rows]
    lines = tabulate(table, headers=["name", "tier", "found", "verified", "size"]).splitlines()
    if not verbose:
        return "\n".join(lines) + "\n"
    out = lines[:2]
    for line, r in zip(lines[2:], rows):
        out.append(line)
        details = [f"role: {r.role}", f"file: {r.file}"]
        if r.path:
            details.append(f"path: {r.path}")
        details += [f"{k}: {v}" for k, v in (("sha256", r.sha256), ("files", r.companions), ("licence", r.licence), ("source", r.source)) if v]
        for d in details:
            out.extend(textwrap.wrap(d, width=width, initial_indent="    ", subsequent_indent="      ",
                                     break_long_words=True))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "status":
            sys.stdout.write(format_status(weights_status(args.weights_dir, args.names or None), args.verbose))
            sys.stdout.write(f"lock file: {lock_path(args.weights_dir)}\n")
        elif args.command == "download":
            from hypercon.weights.download import download_weights

            for name, path in download_weights(args.names or None, args.weights_dir, args.timeout).items():
                sys.stdout.write(f"{name}: {path}\n")
        else:
            res = record_weights(args.name, args.weights_dir, args.path, trust_pickle=args.trust_pickle)
            sys.stdout.write(f"{res.name}: {res.path} sha256 {res.sha256} -> {lock_path(args.weights_dir)}\n")
    except UserError as exc:  # WeightsError and any other expected error: one line, status 2
        sys.stderr.write(f"python -m hypercon.weights: error: {one_line(exc)}\n")
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
