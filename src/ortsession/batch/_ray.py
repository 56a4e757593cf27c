"""The ``ray`` engine: a Ray Data pipeline, one ortsession session per actor.

The source's splits become a dataset (one block per split, order preserved); ``map_batches``
runs :class:`_Predictor` — a callable class that opens one session when the actor starts — on an
actor pool of ``workers`` actors, each reserving ``num_cpus`` CPUs (its intra-op threads) and
``num_gpus`` GPUs. An actor reads its split itself, from shared storage (files) or the object store
(arrays in memory), runs it through the same :class:`~ortsession.batch._rows.Runner` as the local
engine, and answers with plain numeric columns (row ids, outputs, error messages), which Ray
moves without pickling. The driver streams the results in source order into the sink, through
the same commit protocol as the local engine: outputs are identical row for row, and a killed
job resumes the same way.

The model reaches the actors as bytes through the object store (``ship_model=True``, the default)
or by path (shared storage). Ray is joined at ``ray_address``, or the running Ray is used, or a
local one is started (and shut down at the end).
"""

from __future__ import annotations

import logging
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

_SPLIT_ROWS = 131072
"""The most rows one call to an actor reads and runs (sources that split by themselves, like
Parquet row groups, keep their own splits). Each call costs Ray a round of scheduling and moves
its outputs as one block: fewer, larger calls measured faster (bench/batch_bench.py)."""

_IN_FLIGHT = 2
"""Calls queued at an actor: the next split waits at the actor while it runs one, so the actor
does not idle while Ray's scheduler (on cores busy with the actors' work) dispatches the next."""


_OUT = "out:"
"""Prefix of the output columns of an actor's answer (``row_id``, ``error`` and ``node`` are
its other columns)."""


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
        self._node = _node_number(ray.get_runtime_context().get_node_id())
        self._blank: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}

    def __call__(self, batch: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        """Read and run the split named in ``batch["split"]``; answer one row per source row.

        Columns: ``row_id``, ``error`` (empty for a good row), ``node``, and ``out:NAME`` per
        output (zeros for a bad row): plain numeric arrays, which Ray moves without pickling.
        """
        results: list[Result] = []
        whole: dict[str, np.ndarray[Any, Any]] = {}
        for index in batch["split"]:
            split = self._splits[int(index)]

            def alloc(specs: list[tuple[str, tuple[int, ...], np.dtype[Any]]],
                      split: Split = split) -> dict[str, np.ndarray[Any, Any]]:
                # the chunk's rows of arrays for the whole split: nothing to join afterwards
                at = len(results) and results[-1].start + results[-1].count - split.start
                for name, shape, dtype in specs:
                    if name not in whole:
                        whole[name] = np.empty((split.count, *shape[1:]), dtype)
                return {name: whole[name][at:at + shape[0]] for name, shape, _ in specs}

            results.extend(self._runner.run_chunk(chunk, alloc)
                           for chunk in self._source.read(split, self._rows, self._columns))
        start = results[0].start
        count = sum(r.count for r in results)
        if whole and len(batch["split"]) == 1 and all(
                r.count == len(r.row_ids) and r.outputs.keys() == whole.keys()
                and all(a.base is whole[n] for n, a in r.outputs.items()) for r in results):
            return {"row_id": np.arange(start, start + count, dtype=np.int64),
                    "error": np.full(count, "", dtype=object),
                    "node": np.full(count, self._node, dtype=np.int64),
                    **{_OUT + name: array for name, array in whole.items()}}
        errors = np.full(count, "", dtype=object)
        for result in results:
            for row, message in result.errors:
                errors[row - start] = message
        answer = {"row_id": np.arange(start, start + count, dtype=np.int64), "error": errors,
                  "node": np.full(count, self._node, dtype=np.int64)}
        good = [r for r in results if len(r.row_ids)]
        for name, array in good[0].outputs.items() if good else ():
            self._blank[name] = (array.shape[1:], array.dtype)
        for name, (shape, dtype) in self._blank.items():
            if len(good) == len(results) and all(r.count == len(r.row_ids) for r in good):
                out = _join([r.outputs[name] for r in good])  # every row good: no gaps
            else:
                out = np.zeros((count, *shape), dtype)
                for result in good:
                    out[result.row_ids - start] = result.outputs[name]
            answer[_OUT + name] = out
        return answer


def _join(arrays: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _node_number(node_id: str) -> int:
    """Return a Ray node id (hex) as a number that fits an int64 column."""
    return int(node_id[:15], 16)


def _result(batch: Mapping[str, np.ndarray[Any, Any]], nodes: Mapping[int, str]) -> Result:
    """Turn an actor's answer back into the :class:`Result` of its split."""
    ids = batch["row_id"]
    errors = batch["error"]
    bad = np.asarray(errors != "", dtype=bool)
    outputs = {name[len(_OUT):]: array for name, array in batch.items()
               if name.startswith(_OUT)}
    if bad.any():
        good = ~bad
        outputs = {name: array[good] for name, array in outputs.items()}
        row_ids = ids[good]
    else:
        row_ids = ids
    node = int(batch["node"][0]) if len(ids) else 0
    return Result(int(ids[0]), len(ids), np.asarray(row_ids, dtype=np.int64), outputs,
                  [(int(r), str(m)) for r, m in zip(ids[bad], errors[bad])],
                  nodes.get(node, str(node)))


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
        # batch size and at most _SPLIT_ROWS rows, read in chunks of ``rows``; an actor runs
        # one split at a time, with the next one queued (_IN_FLIGHT), so each call to an actor
        # does a good deal of work and none waits for the scheduler.
        share = -(-(src.total - start) // (4 * workers))
        share = max(plan.batch_size, min(_SPLIT_ROWS, -(-share // plan.batch_size)
                                         * plan.batch_size))
        rows = min(rows, share)
        splits = src.splits(start, share)
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
                                           max_tasks_in_flight_per_actor=_IN_FLIGHT),
            num_cpus=cpus, num_gpus=num_gpus or 0,
            fn_constructor_kwargs={"model": model_arg, "options": dict(options), "plan": plan,
                                   "source": ray.put(src), "splits": splits, "rows": rows,
                                   "columns": columns})
        nodes = {_node_number(n["NodeID"]): n["NodeID"] for n in ray.nodes()}
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            yield _result(batch, nodes)
    finally:
        if owned:
            ray.shutdown()
