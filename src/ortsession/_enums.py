"""The closed sets of session option values: optimization level, execution mode, dimension kind.

Each member carries the name the option takes (``key``, what messages list) and its ONNX Runtime
counterpart (``ort``), so the table from one to the other is written once.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

__all__ = ["DimensionBy", "ExecutionMode", "GraphOptimizationLevel", "KeyedEnum"]


class KeyedEnum(Enum):
    """An enum whose members carry the option value (``key``) and ORT's counterpart (``ort``)."""

    def __init__(self, key: str, ort: str) -> None:
        self.key: Final = key
        self.ort: Final = ort

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.key!r}>"

    def aliases(self) -> tuple[str, ...]:
        """Return every spelling an option accepts for this value (matched ignoring case)."""
        return (self.key,)


class GraphOptimizationLevel(KeyedEnum):
    """The session option ``graph_optimization_level``: how much ORT rewrites the graph.

    Give the member or its ``key`` (any case): ``"disable"`` (no rewriting), ``"basic"``
    (constant folding, redundant node removal), ``"extended"`` (also fusions of several nodes)
    or ``"all"`` (also layout changes; the default). ``ort`` is the name of ORT's
    ``GraphOptimizationLevel`` member.
    """

    DISABLE = ("disable", "ORT_DISABLE_ALL")
    BASIC = ("basic", "ORT_ENABLE_BASIC")
    EXTENDED = ("extended", "ORT_ENABLE_EXTENDED")
    ALL = ("all", "ORT_ENABLE_ALL")


class ExecutionMode(KeyedEnum):
    """The session option ``execution_mode``: run the graph's nodes one at a time or in parallel.

    Give the member or its ``key`` (any case): ``"sequential"`` (the default) or ``"parallel"``
    (independent branches run at once on ``inter_op_num_threads`` threads). ``ort`` is the name
    of ORT's ``ExecutionMode`` member.
    """

    SEQUENTIAL = ("sequential", "ORT_SEQUENTIAL")
    PARALLEL = ("parallel", "ORT_PARALLEL")


class DimensionBy(KeyedEnum):
    """How an entry of ``free_dimension_overrides`` finds its dimension (its ``"by"`` key).

    ``"name"``: by the dimension's symbolic name (``"batch"``); ``"denotation"``: by its
    denotation (``"DATA_BATCH"``). ``ort`` is the ORT ``SessionOptions`` method that applies it.
    """

    NAME = ("name", "add_free_dimension_override_by_name")
    DENOTATION = ("denotation", "add_free_dimension_override_by_denotation")
