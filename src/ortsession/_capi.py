"""ONNX Runtime's C API through ``ctypes``: the route for what the Python binding cannot build.

ORT's Python binding makes sequence inputs from numpy dtypes only, so a ``seq(tensor(bfloat16))``
(float8, int4 …) input cannot pass through it, and its module does not export the C API. The
wheel also ships ``libonnxruntime`` (the same version, a separate copy of ORT): this module loads
it on first use, builds the sequence with ``CreateTensorWithDataAsOrtValue`` and ``CreateValue``
(``ONNX_TYPE_SEQUENCE``), and runs the call on a second session of that library, created once per
:class:`~ortsession.Session` from the same model and the options that apply to it (threads, graph
optimization level, execution mode; CPU only). Values of the two copies of ORT never mix.

The ``OrtApi`` struct is a table of function pointers that ORT only ever appends to; the indices
used here are those of ORT's ``onnxruntime_c_api.h`` (unchanged since API version 1), and loading
checks two of them (``CreateCpuMemoryInfo`` then ``MemoryInfoGetName`` must name the CPU) before
anything else is called. The API version asked for is the installed ORT's minor version.
"""

from __future__ import annotations

import ctypes
import math
import threading
from typing import Any, Final

import numpy as np

from . import _engine
from ._errors import InputError, OrtError, RunError
from ._messages import clean_message
from ._packing import pack_bits, unpack_bits
from ._tensor import Tensor
from ._types import ElementType

__all__ = ["CSequence", "CSession"]

_P: Final = ctypes.c_void_p
_PP: Final = ctypes.POINTER(ctypes.c_void_p)
_I64P: Final = ctypes.POINTER(ctypes.c_int64)
_SIZE: Final = ctypes.c_size_t
_STR: Final = ctypes.c_char_p

# (index in OrtApi, argument types); every function returns an OrtStatus* unless noted
_FUNCTIONS: Final[dict[str, tuple[int, tuple[Any, ...]]]] = {
    "GetErrorMessage": (2, (_P,)),  # returns const char*
    "CreateEnv": (3, (ctypes.c_int, _STR, _PP)),
    "CreateSession": (7, (_P, _STR, _P, _PP)),
    "CreateSessionFromArray": (8, (_P, _P, _SIZE, _P, _PP)),
    "Run": (9, (_P, _P, ctypes.POINTER(_STR), _PP, _SIZE, ctypes.POINTER(_STR), _SIZE, _PP)),
    "CreateSessionOptions": (10, (_PP,)),
    "SetSessionExecutionMode": (13, (_P, ctypes.c_int)),
    "SetSessionGraphOptimizationLevel": (23, (_P, ctypes.c_int)),
    "SetIntraOpNumThreads": (24, (_P, ctypes.c_int)),
    "SetInterOpNumThreads": (25, (_P, ctypes.c_int)),
    "CreateTensorWithDataAsOrtValue": (49, (_P, _P, _SIZE, _I64P, _SIZE, ctypes.c_int, _PP)),
    "GetTensorMutableData": (51, (_P, _PP)),
    "GetTensorElementType": (60, (_P, ctypes.POINTER(ctypes.c_int))),
    "GetDimensionsCount": (61, (_P, ctypes.POINTER(_SIZE))),
    "GetDimensions": (62, (_P, _I64P, _SIZE)),
    "GetTensorTypeAndShape": (65, (_P, _PP)),
    "GetValueType": (67, (_P, ctypes.POINTER(ctypes.c_int))),
    "CreateCpuMemoryInfo": (69, (ctypes.c_int, ctypes.c_int, _PP)),
    "MemoryInfoGetName": (71, (_P, ctypes.POINTER(_STR))),
    "GetAllocatorWithDefaultOptions": (78, (_PP,)),
    "GetValue": (80, (_P, ctypes.c_int, _P, _PP)),
    "GetValueCount": (81, (_P, ctypes.POINTER(_SIZE))),
    "CreateValue": (82, (_PP, _SIZE, ctypes.c_int, _PP)),
    "ReleaseStatus": (93, (_P,)),  # returns void
    "ReleaseMemoryInfo": (94, (_P,)),
    "ReleaseSession": (95, (_P,)),
    "ReleaseValue": (96, (_P,)),
    "ReleaseTensorTypeAndShapeInfo": (99, (_P,)),
    "ReleaseSessionOptions": (100, (_P,)),
}
_VOID: Final = frozenset({"ReleaseStatus", "ReleaseMemoryInfo", "ReleaseSession", "ReleaseValue",
                          "ReleaseTensorTypeAndShapeInfo", "ReleaseSessionOptions"})
_ONNX_TYPE_TENSOR: Final = 1
_ONNX_TYPE_SEQUENCE: Final = 2
_GRAPH_LEVELS: Final = {"disable": 0, "basic": 1, "extended": 2, "all": 99}
_LOG_ERROR: Final = 3


class _Api:
    """The ``OrtApi`` functions this module calls, from the wheel's ``libonnxruntime``."""

    def __init__(self) -> None:
        path = _engine.c_library_path()
        if path is None:
            raise OrtError(f"onnxruntime {_engine.ort_version()} ships no libonnxruntime "
                           f"library next to its Python binding")
        lib = ctypes.CDLL(path)

        class ApiBase(ctypes.Structure):
            _fields_ = [("GetApi", ctypes.CFUNCTYPE(_P, ctypes.c_uint32)),
                        ("GetVersionString", ctypes.CFUNCTYPE(_STR))]

        lib.OrtGetApiBase.restype = ctypes.POINTER(ApiBase)
        base = lib.OrtGetApiBase().contents
        version = (base.GetVersionString() or b"").decode()
        if version != _engine.ort_version():
            raise OrtError(f"{path} is ORT {version}, the Python binding is "
                           f"{_engine.ort_version()}")
        api = base.GetApi(int(version.split(".")[1]))
        if not api:
            raise OrtError(f"{path} does not offer the C API version of ORT {version}")
        table = ctypes.cast(api, ctypes.POINTER(_P))
        self._lib = lib  # keeps the library loaded
        for name, (index, args) in _FUNCTIONS.items():
            restype = None if name in _VOID else (_STR if name == "GetErrorMessage" else _P)
            setattr(self, name, ctypes.CFUNCTYPE(restype, *args)(table[index]))
        self.memory_info = _P()
        self.check(self.CreateCpuMemoryInfo(1, 0, ctypes.byref(self.memory_info)))  # type: ignore[attr-defined]
        label = _STR()
        self.check(self.MemoryInfoGetName(self.memory_info, ctypes.byref(label)))  # type: ignore[attr-defined]
        if label.value != b"Cpu":
            raise OrtError(f"{path}: the C API table does not have the expected layout")
        self.allocator = _P()
        self.check(self.GetAllocatorWithDefaultOptions(ctypes.byref(self.allocator)))  # type: ignore[attr-defined]
        self.env = _P()
        self.check(self.CreateEnv(_LOG_ERROR, b"ortsession", ctypes.byref(self.env)))  # type: ignore[attr-defined]

    def check(self, status: Any, error: type[OrtError] = OrtError, context: str = "") -> None:
        """Raise ``error`` with ORT's message when ``status`` is not NULL (success)."""
        if not status:
            return
        message = (self.GetErrorMessage(status) or b"").decode("utf-8", "replace")  # type: ignore[attr-defined]
        self.ReleaseStatus(status)  # type: ignore[attr-defined]
        text = clean_message(message)
        raise error(f"{context}: {text}" if context else text)


_api: _Api | None = None
_api_lock = threading.Lock()


def _load() -> _Api:
    global _api
    with _api_lock:
        if _api is None:
            _api = _Api()
        return _api


class CSequence:
    """A sequence input of a type numpy lacks, held until the C API route builds it."""

    __slots__ = ("element_type", "tensors")

    def __init__(self, element_type: ElementType, tensors: list[Tensor]) -> None:
        """Hold the elements (already checked against the element type)."""
        self.element_type = element_type
        self.tensors = tensors


class CSession:
    """A session of the wheel's ``libonnxruntime`` for one :class:`~ortsession.Session`."""

    def __init__(self, model: str | bytes, options: Any) -> None:
        """Create the session from a model path or bytes and parsed session options."""
        api = _load()
        self._api = api
        so = _P()
        api.check(api.CreateSessionOptions(ctypes.byref(so)))  # type: ignore[attr-defined]
        try:
            api.check(api.SetIntraOpNumThreads(so, options.intra_op_num_threads))  # type: ignore[attr-defined]
            api.check(api.SetInterOpNumThreads(so, options.inter_op_num_threads))  # type: ignore[attr-defined]
            api.check(api.SetSessionGraphOptimizationLevel(  # type: ignore[attr-defined]
                so, _GRAPH_LEVELS[options.graph_optimization_level.key]))
            api.check(api.SetSessionExecutionMode(  # type: ignore[attr-defined]
                so, 1 if options.execution_mode.key == "parallel" else 0))
            self._session = _P()
            if isinstance(model, str):
                status = api.CreateSession(api.env, model.encode(),  # type: ignore[attr-defined]
                                           so, ctypes.byref(self._session))
            else:
                status = api.CreateSessionFromArray(api.env, model, len(model),  # type: ignore[attr-defined]
                                                    so, ctypes.byref(self._session))
            api.check(status, RunError, "cannot create the C API session")
        finally:
            api.ReleaseSessionOptions(so)  # type: ignore[attr-defined]

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        if session:
            self._api.ReleaseSession(session)  # type: ignore[attr-defined]

    def run(self, feed: dict[str, Any], names: list[str], context: str) -> list[Any]:
        """Run with ``feed`` (arrays, pybind tensor OrtValues, :class:`CSequence`)."""
        api = self._api
        created: list[Any] = []
        keep: list[Any] = []
        outputs = (_P * len(names))()
        try:
            values = [self._value(name, v, created, keep) for name, v in feed.items()]
            in_names = (_STR * len(feed))(*[n.encode() for n in feed])
            out_names = (_STR * len(names))(*[n.encode() for n in names])
            in_values = (_P * len(values))(*values)
            api.check(api.Run(self._session, None, in_names, in_values, len(values),  # type: ignore[attr-defined]
                              out_names, len(names), outputs), RunError, context)
            return [self._read(outputs[i], context) for i in range(len(names))]
        finally:
            for value in (*created, *outputs):
                if value:
                    api.ReleaseValue(value)  # type: ignore[attr-defined]

    def _tensor_value(self, arr: np.ndarray[Any, Any], et: ElementType, created: list[Any],
                      keep: list[Any]) -> Any:
        raw = pack_bits(arr, et) if et.is_packed else np.ascontiguousarray(arr)
        keep.append(raw)
        shape = (ctypes.c_int64 * max(arr.ndim, 1))(*arr.shape)
        out = _P()
        self._api.check(self._api.CreateTensorWithDataAsOrtValue(  # type: ignore[attr-defined]
            self._api.memory_info, raw.ctypes.data if raw.size else None, raw.nbytes, shape,
            arr.ndim, int(et), ctypes.byref(out)))
        created.append(out.value)
        return out.value

    def _value(self, name: str, value: Any, created: list[Any], keep: list[Any]) -> Any:
        if isinstance(value, CSequence):
            if not value.tensors:  # CreateValue needs at least one element
                raise InputError(f"input {name!r}: an empty sequence of "
                                 f"{value.element_type.type_name} cannot be built through ORT's "
                                 f"C API (it needs at least one element to know the type)")
            elements = [self._tensor_value(t.numpy(), value.element_type, created, keep)
                        for t in value.tensors]
            seq = _P()
            array = (_P * max(len(elements), 1))(*elements)
            self._api.check(self._api.CreateValue(array, len(elements),  # type: ignore[attr-defined]
                                                  _ONNX_TYPE_SEQUENCE, ctypes.byref(seq)),
                            InputError, f"input {name!r}")
            created.append(seq.value)
            return seq.value
        if isinstance(value, np.ndarray) and value.dtype.kind != "O":
            from ._types import element_type_from_dtype

            return self._tensor_value(value, element_type_from_dtype(value.dtype), created, keep)
        if isinstance(value, _engine.ORTVALUE) and value.is_tensor():
            from ._creation import tensor_from_ortvalue

            t = tensor_from_ortvalue(value)
            return self._tensor_value(t.numpy(), t.element_type, created, keep)
        raise InputError(f"input {name!r}: a run with a sequence of a type numpy lacks takes "
                         f"only numeric tensors besides (got {type(value).__name__})")

    def _read(self, value: Any, context: str) -> Any:
        api = self._api
        kind = ctypes.c_int()
        api.check(api.GetValueType(value, ctypes.byref(kind)))  # type: ignore[attr-defined]
        if kind.value == _ONNX_TYPE_TENSOR:
            return self._read_tensor(value, context)
        if kind.value == _ONNX_TYPE_SEQUENCE:
            count = _SIZE()
            api.check(api.GetValueCount(value, ctypes.byref(count)))  # type: ignore[attr-defined]
            items = []
            for i in range(count.value):
                item = _P()
                api.check(api.GetValue(value, i, api.allocator, ctypes.byref(item)))  # type: ignore[attr-defined]
                try:
                    items.append(self._read(item.value, context))
                finally:
                    api.ReleaseValue(item)  # type: ignore[attr-defined]
            return items
        raise RunError(f"{context}: an output of ONNX type {kind.value} cannot be returned from "
                       f"a run with a sequence of a type numpy lacks")

    def _read_tensor(self, value: Any, context: str) -> Tensor:
        api = self._api
        info = _P()
        api.check(api.GetTensorTypeAndShape(value, ctypes.byref(info)))  # type: ignore[attr-defined]
        try:
            onnx_type = ctypes.c_int()
            api.check(api.GetTensorElementType(info, ctypes.byref(onnx_type)))  # type: ignore[attr-defined]
            ndim = _SIZE()
            api.check(api.GetDimensionsCount(info, ctypes.byref(ndim)))  # type: ignore[attr-defined]
            dims = (ctypes.c_int64 * max(ndim.value, 1))()
            api.check(api.GetDimensions(info, dims, ndim.value))  # type: ignore[attr-defined]
        finally:
            api.ReleaseTensorTypeAndShapeInfo(info)  # type: ignore[attr-defined]
        try:
            et = ElementType(onnx_type.value)
        except ValueError:
            raise RunError(f"{context}: ORT returned a tensor of unsupported type "
                           f"{onnx_type.value}") from None
        if et is ElementType.STRING:
            raise RunError(f"{context}: string outputs cannot be returned from a run with a "
                           f"sequence of a type numpy lacks")
        shape = tuple(dims[i] for i in range(ndim.value))
        count = math.prod(shape)
        nbytes = et.packed_nbytes(count)
        data = _P()
        api.check(api.GetTensorMutableData(value, ctypes.byref(data)))  # type: ignore[attr-defined]
        raw = np.frombuffer(ctypes.string_at(data, nbytes) if nbytes else b"", np.uint8)
        if et.is_packed:
            return Tensor._wrap(unpack_bits(raw, count, et).reshape(shape), et)
        return Tensor._wrap(raw.view(et.dtype).reshape(shape).copy(), et)

