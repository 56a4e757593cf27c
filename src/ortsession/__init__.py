"""ortsession: the ONNX Runtime session module for Python.

Load a model with strictly validated options, inspect its inputs and outputs, and run it fast,
with tensors of every ONNX element type, run options, preallocated outputs and IO binding::

    import ortsession as ort

    with ort.session("model.onnx", providers=["cpu"]) as s:
        out = s.run({"x": ort.tensor("float32", [1, 2], [1.0, 2.0]),
                     "bias": ort.tensor("float32", [1, 2], [0.5, -0.5])})
        print(out["y"].to_table()[0])

Lua scripts written against the reference module run unchanged with ``ortsession lua``.
"""

from __future__ import annotations

import contextlib
import typing as _typing

from ._batcher import Batcher
from ._builder import ProviderFallbackWarning
from ._config import configure
from ._coreml import resolve_coreml_options
from ._creation import tensor, tensor_from_bytes
from ._custom_ops import CustomOpLibrary, load_custom_op_library
from ._engine import ort_version as version
from ._enums import DimensionBy, ExecutionMode, GraphOptimizationLevel
from ._errors import (
    CustomOpLibraryError,
    ElementTypeError,
    InputError,
    ModelLoadError,
    NotFoundError,
    OptionError,
    OrtError,
    ProviderError,
    RunError,
    StateError,
    TensorError,
    TerminatedError,
)
from ._iobinding import IOBinding
from ._model_info import MemoryInfo, ModelMetadata
from ._option_checks import FreeDimensionOverride
from ._optional import Optional, optional
from ._options import SessionOptions
from ._outputs import NamedValues, Outputs
from ._providers import available_short_names as providers
from ._run_options import RunOptions, run_options
from ._session import Session, session, session_from_bytes
from ._sparse import SparseTensor
from ._tensor import Tensor
from ._typeinfo import TypeInfo
from ._types import ElementType, element_type_names

if _typing.TYPE_CHECKING:
    from . import models as models

__version__ = "0.1.0"

__all__ = [
    # module functions (SPEC §2)
    "configure",
    "load_custom_op_library",
    "optional",
    "providers",
    "resolve_coreml_options",
    "run_options",
    "session",
    "session_from_bytes",
    "tensor",
    "tensor_from_bytes",
    "version",
    # sessions and running
    "Batcher",
    "IOBinding",
    "Outputs",
    "RunOptions",
    "Session",
    "SessionOptions",
    # values that SessionOptions fields hold
    "DimensionBy",
    "ExecutionMode",
    "FreeDimensionOverride",
    "GraphOptimizationLevel",
    # values and types
    "CustomOpLibrary",
    "ElementType",
    "MemoryInfo",
    "ModelMetadata",
    "NamedValues",
    "Optional",
    "SparseTensor",
    "Tensor",
    "TypeInfo",
    "element_type_names",
    # errors and warnings
    "CustomOpLibraryError",
    "ElementTypeError",
    "InputError",
    "ModelLoadError",
    "NotFoundError",
    "OptionError",
    "OrtError",
    "ProviderError",
    "ProviderFallbackWarning",
    "RunError",
    "StateError",
    "TensorError",
    "TerminatedError",
]


def _fix_module_names() -> None:
    """Show public objects as ``ortsession.X`` rather than ``ortsession._private.X``."""
    g = globals()
    for name in __all__:
        obj = g[name]
        if getattr(obj, "__module__", "").startswith("ortsession._"):
            with contextlib.suppress(AttributeError, TypeError):  # builtins keep theirs
                obj.__module__ = __name__


_fix_module_names()


def __getattr__(name: str) -> _typing.Any:
    """Import the ``models`` submodule on first use (``import ortsession`` stays fast)."""
    if name == "models":
        import importlib

        return importlib.import_module(f"{__name__}.models")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
