"""A synchronised side-by-side video viewer (a static site: HTML + vanilla JS + CSS, no network).

    python -m experiments.viewer outputs/sweeps/table1_style --out site/
    python -m experiments.viewer RUN_A RUN_B --out site/ --quality 80 --max-side 416

Opens from disk (``site/index.html``). See :mod:`experiments.viewer.site` for the layout.
"""

from experiments.viewer.site import Site, build_site, human_size

__all__ = ["Site", "build_site", "human_size"]
