"""``python -m hypercon.weights status | download [NAMES] | record NAME [--path FILE]``."""

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
    st = sub.add_parser("status", parents=[common], help="table: tier, role, file, where found, verified or not, size")
    st.add_argument("names", nargs="*")
    dl = sub.add_parser("download", parents=[common],
                        help="download entries (needs internet; hash-checked, atomic)")
    dl.add_argument("names", nargs="*", help="default: every entry with an automatic download")
    dl.add_argument("--timeout", type=float, default=10.0, help="connection timeout in seconds")
    rec = sub.add_parser("record", parents=[common], help="write a file's observed sha256 into the user lock file")
    rec.add_argument("name")
    rec.add_argument("--path", default=None, help="explicit file (default: search as at run time)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "status":
            from tabulate import tabulate

            rows = weights_status(args.weights_dir, args.names or None)
            table = [(r.name, r.tier, r.role, r.file, r.found, r.verified, r.size) for r in rows]
            headers = ["name", "tier", "role", "file", "found", "verified", "size"]
            sys.stdout.write(tabulate(table, headers=headers) + "\n")
            sys.stdout.write(f"lock file: {lock_path(args.weights_dir)}\n")
        elif args.command == "download":
            from hypercon.weights.download import download_weights

            for name, path in download_weights(args.names or None, args.weights_dir, args.timeout).items():
                sys.stdout.write(f"{name}: {path}\n")
        else:
            res = record_weights(args.name, args.weights_dir, args.path)
            sys.stdout.write(f"{res.name}: {res.path} sha256 {res.sha256} -> {lock_path(args.weights_dir)}\n")
    except UserError as exc:  # WeightsError and any other expected error: one line, status 2
        sys.stderr.write(f"python -m hypercon.weights: error: {one_line(exc)}\n")
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
