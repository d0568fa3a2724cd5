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
from experiments.report import report

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
# ## Tables (mean ± SEM across videos, best in bold, provenance notes below)
# The same call as `python -m experiments.report RESULTS`: Table 1 / Table 2 for the tasks present, or, for a
# grid search, the grid table, `selection.json` and the Fig. 5 plots.

# %%
text, written = report(RESULTS, "auto", "md", REPORT)
display(Markdown(text))

# %% [markdown]
# ## Selected setting and Fig. 5 plots (grid searches only)

# %%
if "selection" in written:
    display(Markdown("```json\n" + Path(written["selection"]).read_text() + "\n```"))
for plot in written.get("plots", []):
    if str(plot).endswith(".png"):
        display(Image(filename=str(plot)))
