"""``python -m experiments.viewer DIR [DIR ...] --out SITE/ [--dataset NAME [--dataset-override KEY=VALUE]]``:
build the viewer site and print its size (the source panel: :mod:`experiments.viewer.source`)."""

from __future__ import annotations

import argparse
import logging
import sys

from experiments.viewer.site import build_site, human_size
from experiments.viewer.source import add_dataset_options, dataset_config
from hypercon.errors import EXIT_USER_ERROR, UserError, one_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.viewer",
                                     description="Build a synchronised side-by-side viewer (static site) of runs.")
    parser.add_argument("dirs", nargs="+", help="run folders (outputs/runs/…) or sweep folders (outputs/sweeps/…)")
    parser.add_argument("--out", required=True, help="folder for the site (open OUT/index.html)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality of the frames, 1..95 (default 85)")
    parser.add_argument("--max-side", type=int, default=480,
                        help="longest side of the frames in pixels; larger frames are shrunk (default 480)")
    add_dataset_options(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        dataset = dataset_config(args.dataset, args.dataset_override)
        site = build_site(args.dirs, args.out, quality=args.quality, max_side=args.max_side, dataset=dataset)
    except (UserError, FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"python -m experiments.viewer: error: {one_line(exc)}\n")
        return EXIT_USER_ERROR
    print(f"viewer: {len(site.pages)} video page(s), {human_size(site.total_bytes)} in {site.root} "
          f"(open {site.root / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
