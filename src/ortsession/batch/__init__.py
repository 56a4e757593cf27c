"""Batch inference: a dataset through a model, on every core or on a Ray cluster.

Import it explicitly (``import ortsession.batch``); ``import ortsession`` does not load it, and its
heavy dependencies (pyarrow, Pillow, rich, ray) are imported only when a job needs them::

    from ortsession import batch

    summary = batch.predict("model.onnx", "features.parquet", "predictions/",
                            {"graph_optimization_level": "all"}, batch_size=256)
    print(summary)

Sources: a dict of arrays, ``.npy``/``.npz``, Parquet files or folders, JSON Lines, a folder of
images. Sinks: a Parquet folder, a ``.npz`` file, or memory. Bad rows go to an errors table and
the job goes on; a killed job continues with ``resume=True``. See ``docs/batch.md``.
"""

from __future__ import annotations

from ._plan import SourceError
from ._predict import BatchSummary, RowError, predict

__all__ = ["BatchSummary", "RowError", "SourceError", "predict"]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
