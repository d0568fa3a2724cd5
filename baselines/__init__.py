"""The video methods HyperCon is compared with: one module (or folder) per baseline.

A method declares the paper rows it reproduces on its class (:attr:`hypercon.method.VideoMethod.paper_rows`).
Rows of the paper's tables that no method here can produce yet are declared below; the tables list them as
"not available". A baseline that lands removes its rows from this list and declares them on its class.
"""

from hypercon.method import PaperRow

PLANNED_ROWS: tuple[PaperRow, ...] = (
    PaperRow("table1", "FST-vcons", "Lai et al. 2018 blind video consistency is not implemented here yet"),
    PaperRow("table2", "Cxtattn-vcons", "Lai et al. 2018 blind video consistency is not implemented here yet"),
    PaperRow("table2", "VINet", "VINet (Kim et al. 2019) is not implemented here yet"),
)
