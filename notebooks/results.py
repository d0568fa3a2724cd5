# %% [markdown]
# # hypercon-bench: results of a run or sweep
#
# Reads the result store of one run (`outputs/runs/…`) or sweep (`outputs/sweeps/<sweep_name>`) with
# `experiments.collect`, shows the per-job and per-video frames, the paper-style table and, for a grid
# search, the selected setting and the Fig. 5 plots. All logic lives in `experiments/`; this notebook only
# calls it. Set `HYPERCON_RESULTS` to the folder to read (default below).
#
# `results.ipynb` is generated from `notebooks/results.py` by `python notebooks/build_notebook.py`: edit the script.

# %%
import os
from pathlib import Path

from IPython.display import Image, Markdown, display

from experiments.collect import collect
from experiments.report import choose_table
from experiments.tables import build_table, render_markdown

RESULTS = Path(os.environ.get("HYPERCON_RESULTS", "outputs/sweeps/gridsearch_style"))
REPORT = Path(os.environ.get("HYPERCON_REPORT", RESULTS / "report"))

# %% [markdown]
# ## Jobs and videos

# %%
collection = collect(RESULTS)
job_view = [c for c in ("job", "method", "dataset", "model", "style", "i", "c", "d", "pool", "tier", "complete",
                        "num_videos", *collection.metric_keys, *collection.set_keys) if c in collection.jobs]
display(collection.jobs[job_view])

# %%
video_view = ["job", "video", "num_frames", "width", "height", "time_method_s", *collection.metric_keys]
display(collection.videos[[c for c in video_view if c in collection.videos]])

# %% [markdown]
# ## Table (mean ± SEM across videos, best in bold, provenance notes below)

# %%
kind = choose_table(collection)
if kind == "grid":
    from experiments.gridsearch import grid_table, plot_grid, save_selection, select_all

    selections = select_all(collection)
    table = grid_table(collection, selections)
    save_selection(selections, REPORT / "selection.json")
else:
    selections = []
    table = build_table(collection, kind)
display(Markdown(render_markdown(table)))

# %% [markdown]
# ## Selected setting and Fig. 5 plots (grid searches only)

# %%
for n, selection in enumerate(selections):
    display(Markdown(f"**{selection.label()}**: {selection.message}"))
    png, _pdf = plot_grid(collection, selection, REPORT / f"notebook_grid_{n}")
    display(Image(filename=str(png)))
