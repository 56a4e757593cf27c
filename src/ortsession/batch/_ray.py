"""The ``ray`` engine: a Ray Data pipeline, one ortsession session per actor.

The source's splits become a dataset (one block per split, order preserved); ``map_batches``
runs :class:`_Predictor` — a callable class that opens one session when the actor starts — on an
actor pool of ``workers`` actors, each reserving ``num_cpus`` CPUs (its intra-op threads) and
``num_gpus`` GPUs. An actor reads its split itself, from shared storage (files) or the object store
(arrays in memory), runs it through the same :class:`~ortsession.batch._rows.Runner` as the local
engine, and returns the :class:`~ortsession.batch._rows.Result`. The driver streams the results in
source order into the sink, through the same commit protocol as the local engine: outputs are
identical row for row, and a killed job resumes the same way.

The model reaches the actors as bytes through the object store (``ship_model=True``, the default)
or by path (shared storage). Ray is joined at ``ray_address``, or the running Ray is used, or a
local one is started (and shut down at the end).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._local import open_model
from ._plan import Plan
from ._rows import Result, Runner
from ._sources import Source, Split, require

if TYPE_CHECKING:
    from ._predict import BatchSummary

__all__ = ["ray_results"]


class _Predictor:
    """A Ray Data callable class: one session per actor, one split per call."""

    def __init__(self, model: Any, options: Mapping[str, Any], plan: Plan, source: Any,
                 splits: list[Split], rows: int, columns: list[str]) -> None:
        import ray

        model, source = (ray.get(v) if isinstance(v, ray.ObjectRef) else v
                         for v in (model, source))
        self._runner = Runner(open_model(model, options), plan)
        self._source: Source = source
        self._splits = splits
        self._rows = rows
        self._columns = columns
        self._node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        """Read and run the splits named in ``batch["split"]``; return pickled results."""
        blobs = []
        for index in batch["split"]:
            split = self._splits[int(index)]
            for chunk in self._source.read(split, self._rows, self._columns):
                result = self._runner.run_chunk(chunk)
                result.node = self._node
                blobs.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        out = np.empty(len(blobs), dtype=object)
        out[:] = blobs
        return {"result": out}


def ray_results(src: Source, plan: Plan, rows: int, start: int, columns: list[str],
                model: str | bytes, options: Mapping[str, Any], workers: int,
                address: str | None, num_cpus: float | None, num_gpus: float | None,
                ship_model: bool, summary: BatchSummary) -> Iterator[Result]:
    """Run the rows from ``start`` on a Ray actor pool; yield the results in source order."""
    ray = require("ray", "ray")
    data = require("ray.data", "ray")
    owned = not ray.is_initialized()
    if owned:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    try:
        cpus = float(num_cpus or 1)
        if not workers:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
        summary.workers = workers
        if isinstance(model, bytes) or ship_model:
            if not isinstance(model, bytes):
                with open(model, "rb") as f:
                    model = f.read()
            model_arg: Any = ray.put(model)
        else:
            model_arg = model
        # About four splits per actor (so a late actor still gets work), each a multiple of the
        # batch size; an actor takes one split at a time.
        share = -(-(src.total - start) // (4 * workers))
        rows = max(plan.batch_size, min(rows, -(-share // plan.batch_size) * plan.batch_size))
        splits = src.splits(start, rows)
        if not splits:
            return
        workers = min(workers, len(splits))
        context = data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False  # ours is drawn by the driver
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
        dataset = data.from_items([{"split": i} for i in range(len(splits))],
                                  override_num_blocks=len(splits))
        dataset = dataset.map_batches(
            _Predictor, batch_size=1, batch_format="numpy",
            compute=data.ActorPoolStrategy(size=workers,
                                           max_tasks_in_flight_per_actor=1),
            num_cpus=cpus, num_gpus=num_gpus or 0,
            fn_constructor_kwargs={"model": model_arg, "options": dict(options), "plan": plan,
                                   "source": ray.put(src), "splits": splits, "rows": rows,
                                   "columns": columns})
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for blob in batch["result"]:
                yield pickle.loads(blob)
    finally:
        if owned:
            ray.shutdown()
