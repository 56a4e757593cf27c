"""Feeds: what each model input accepts (``InputSpec``), and run inputs checked and converted.

The hot path (``Session.run`` with numpy-native tensors) does one dict/list walk over the inputs,
identity checks on dtypes and a rank/dimension check; everything else is converted here, with a
message naming the input, before ORT sees it. Types numpy lacks (bfloat16, float8, int4 …) become
OrtValues, which take the IO-binding route of ``_execution``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

import numpy as np

from . import _engine
from ._arraylike import foreign_array, is_foreign_array
from ._capi import CSequence
from ._conversion import coerce, type_name
from ._errors import InputError, NotFoundError, TensorError
from ._optional import Optional
from ._ortvalues import ortvalue_from_array
from ._tensor import Tensor
from ._typeinfo import TypeInfo
from ._types import ElementType, element_type, element_type_from_dtype

__all__ = ["InputSpec", "check_output_names", "convert_input", "is_exotic", "prepare_feed"]

_ORTVALUE: Final = _engine.ORTVALUE
_NDARRAY: Final = np.ndarray




@dataclass(frozen=True)
class InputSpec:
    """What one model input (or overridable initializer) accepts, precomputed for runs."""

    name: str
    info: TypeInfo
    kind: str
    element_type: ElementType | None
    dtype: np.dtype[Any] | None
    dims: tuple[int, ...] | None
    required: bool
    exotic: bool
    static_shape: tuple[int, ...] | None
    """The exact shape when every dimension is fixed and the type is a native tensor (hot path)."""
    dynamic: bool = False
    """A native tensor input with symbolic dimensions (or none declared): the dynamic hot path,
    which checks the rank and the fixed dimensions as :func:`_check_dims` does, in C."""
    rank: int = -1
    """The declared rank (``-1``: no shape declared, any rank)."""
    pick_fixed: Callable[[tuple[int, ...]], Any] | None = None
    """Picks the fixed dimensions out of a shape (``None``: every dimension is symbolic)."""
    fixed: Any = None
    """What :attr:`pick_fixed` must return: the fixed dimensions (an int when there is one)."""

    @classmethod
    def from_info(cls, info: TypeInfo, required: bool) -> InputSpec:
        """Build the spec of an input from its :class:`TypeInfo`."""
        et = info.element_type
        dims = info.shape if info.shape else None  # [] may mean "no shape": skip the rank check
        exotic = is_exotic(info)
        static = (dims if dims is not None and all(d >= 0 for d in dims) and et is not None
                  and et.is_native and et is not ElementType.STRING and not exotic
                  and info.onnx_type == "tensor" else None)
        native = (et is not None and et.is_native and et is not ElementType.STRING
                  and not exotic and info.onnx_type == "tensor")
        fixed_at = tuple(i for i, d in enumerate(dims or ()) if d >= 0)
        return cls(name=info.name or "", info=info, kind=info.onnx_type, element_type=et,
                   dtype=et.dtype if et is not None else None, dims=dims,
                   required=required and info.onnx_type != "optional",
                   exotic=exotic, static_shape=static,
                   dynamic=native and static is None,
                   rank=len(dims) if dims is not None else -1,
                   pick_fixed=itemgetter(*fixed_at) if fixed_at else None,
                   fixed=itemgetter(*fixed_at)(dims) if fixed_at and dims else None)

    def describe(self) -> str:
        """Human description of what the input expects, e.g. ``float32 [-1, 3]``."""
        if self.element_type is not None:
            dims = list(self.dims) if self.dims is not None else "any shape"
            return f"{self.element_type.type_name} {dims}"
        return self.info.type


def is_exotic(info: TypeInfo | None) -> bool:
    """Tell whether a type holds an element type numpy lacks (at any depth)."""
    if info is None:
        return False
    et = info.element_type
    if et is not None and not et.is_native:
        return True
    return is_exotic(info.element) or is_exotic(info.value)


def _check_dims(spec: InputSpec, shape: tuple[int, ...]) -> None:
    dims = spec.dims
    if dims is None:
        return
    if len(shape) != len(dims):
        raise InputError(f"input {spec.name!r}: expected rank {len(dims)} (shape {list(dims)}), "
                         f"got shape {list(shape)}")
    for i, (want, got) in enumerate(zip(dims, shape)):
        if want >= 0 and want != got:
            raise InputError(f"input {spec.name!r}: dimension {i} must be {want} (shape "
                             f"{list(dims)}), got shape {list(shape)}")


def convert_tensor_input(spec: InputSpec, value: Any) -> Any:
    """Return a numpy array (native types) or OrtValue (others) for a tensor input."""
    et = spec.element_type
    assert et is not None
    if type(value) is _NDARRAY:
        arr = value
        if arr.dtype is not spec.dtype or et is ElementType.STRING:
            arr = _array_for(spec, arr)  # an object array is checked like a list
    elif isinstance(value, Tensor):
        if value._etype is not et:
            raise InputError(f"input {spec.name!r}: expected element type {et.type_name}, got a "
                             f"{value.data_type} tensor")
        if value._array is None:
            _check_dims(spec, value.shape)
            return value._ortvalue
        arr = value._array
    elif isinstance(value, _NDARRAY):
        arr = _array_for(spec, np.asarray(value))
    elif isinstance(value, Optional):
        if value.value is None:
            raise InputError(f"input {spec.name!r}: an empty optional was given for a "
                             f"non-optional input ({spec.describe()})")
        return convert_tensor_input(spec, value.value)
    elif isinstance(value, _ORTVALUE):
        return value
    elif is_foreign_array(value):  # PyTorch, CuPy, JAX, DLPack or __array__ objects
        try:
            arr = _array_for(spec, foreign_array(value, f"input {spec.name!r}"))
        except TensorError as exc:
            raise InputError(str(exc)) from None
    else:
        if value is None and not spec.required:
            return None  # an overridable initializer given None keeps its value
        if isinstance(value, (Mapping, set)) or value is None:
            raise InputError(f"input {spec.name!r}: expected a tensor ({spec.describe()}), got "
                             f"{type_name(value)}")
        try:
            arr = coerce(value, et, f"input {spec.name!r}")
        except TensorError as exc:
            raise InputError(str(exc)) from None
        if arr.ndim == 0 and spec.dims and all(d in (-1, 1) for d in spec.dims):
            arr = arr.reshape((1,) * len(spec.dims))
    _check_dims(spec, arr.shape)
    if spec.exotic:
        return ortvalue_from_array(arr, et)
    return arr


def _array_for(spec: InputSpec, arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Accept ``arr`` for ``spec`` when its element type matches (any byte order/layout)."""
    et = spec.element_type
    assert et is not None
    try:
        got = element_type_from_dtype(arr.dtype)
    except Exception:
        got = None
    if got is not et:
        if et is ElementType.STRING:
            hint = " (pass str values: a list of str or a numpy array of str/object)"
        elif et.is_native:
            hint = f" (convert it, e.g. arr.astype(np.{et.dtype.name}))"
        else:
            hint = f" (convert it, e.g. arr.astype(ml_dtypes.{et.dtype.name}))"
        raise InputError(f"input {spec.name!r}: expected element type {et.type_name}, got "
                         f"{type_name(arr)}{hint}")
    if et is ElementType.STRING:
        try:
            return coerce(arr, et, f"input {spec.name!r}")
        except TensorError as exc:
            raise InputError(str(exc)) from None
    return np.asarray(arr, dtype=et.dtype, order="C")  # ascontiguousarray makes 0-d 1-d


def convert_input(spec: InputSpec, value: Any) -> Any:
    """Convert one input value to what ORT takes for ``spec`` (``None``: leave it out)."""
    kind = spec.kind
    if kind == "tensor":
        return convert_tensor_input(spec, value)
    if value is None or (isinstance(value, Optional) and value.value is None):
        if spec.kind == "optional":
            return None
        raise InputError(f"input {spec.name!r}: a value is required ({spec.info.type})")
    if kind == "optional":
        inner = value.value if isinstance(value, Optional) else value
        element = spec.info.element
        assert element is not None
        return convert_input(InputSpec.from_info(
            TypeInfo(**{**element.__dict__, "name": spec.name}), True), inner)
    if kind == "sequence":
        return _convert_sequence(spec, value)
    if kind == "map":
        return _convert_map(spec, value)
    if kind == "sparse_tensor":
        return _convert_sparse(spec, value)
    return value


def _convert_sparse(spec: InputSpec, value: Any) -> Any:
    """Check a :class:`SparseTensor` against a ``sparse_tensor`` input; return its OrtValue."""
    from ._sparse import SparseTensor

    if not isinstance(value, SparseTensor):
        raise InputError(f"input {spec.name!r}: expected an ortsession.SparseTensor for "
                         f"{spec.info.type}, got {type_name(value)} (make one with "
                         f"SparseTensor.coo(...), .csr(...) or .from_dense(...))")
    if value.element_type is not spec.element_type:
        raise InputError(f"input {spec.name!r}: expected a sparse tensor of "
                         f"{spec.info.type}, got one of {value.data_type}")
    _check_dims(spec, value.dense_shape)
    with _engine.Mapped(f"input {spec.name!r}", InputError):
        return value._to_ortvalue()


def _convert_sequence(spec: InputSpec, value: Any) -> list[Any] | CSequence:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InputError(f"input {spec.name!r}: expected a list for {spec.info.type}, got "
                         f"{type_name(value)}")
    element = spec.info.element
    assert element is not None
    if is_exotic(element):
        return _exotic_sequence(spec, element, value)
    inner = InputSpec.from_info(TypeInfo(**{**element.__dict__, "name": spec.name,
                                            "shape": None, "has_shape": False}), True)
    out = []
    for i, item in enumerate(value):
        try:
            out.append(convert_input(inner, item.numpy() if isinstance(item, Tensor) else item))
        except InputError as exc:
            raise InputError(f"{exc} (element {i} of the sequence)") from None
    return out


def _exotic_sequence(spec: InputSpec, element: TypeInfo, value: Sequence[Any]) -> CSequence:
    """Check the elements of a sequence of a type numpy lacks; the C API route builds it."""
    et = element.element_type
    if element.onnx_type != "tensor" or et is None:
        raise InputError(f"input {spec.name!r}: ONNX Runtime's Python binding cannot build a "
                         f"{spec.info.type}")
    tensors = []
    for i, item in enumerate(value):
        if isinstance(item, Tensor):
            if item.element_type is not et:
                raise InputError(f"input {spec.name!r}: element {i} of the sequence is a "
                                 f"{item.data_type} tensor, expected {et.type_name}")
            tensors.append(item)
            continue
        try:
            tensors.append(Tensor._wrap(coerce(item, et, f"input {spec.name!r}"), et))
        except TensorError as exc:
            raise InputError(f"{exc} (element {i} of the sequence)") from None
    return CSequence(et, tensors)


def _map_scalar(spec: InputSpec, what: str, value: Any, et: ElementType | None) -> Any:
    """Check one map key or value against its declared element type; return a Python scalar."""
    if et is ElementType.STRING:
        if isinstance(value, str):
            return value
    elif et is not None and not isinstance(value, (bool, np.bool_)):
        if et.is_integer and isinstance(value, (int, np.integer)):
            return int(value)
        if et.is_float and isinstance(value, (int, float, np.integer, np.floating)):
            return float(value)
    expected = et.type_name if et is not None else "?"
    raise InputError(f"input {spec.name!r}: map {what} must be {expected} ({spec.info.type}), "
                     f"got {type_name(value)} {value!r}")


def _convert_map(spec: InputSpec, value: Any) -> dict[Any, Any]:
    """Validate a dict for a map input (key and value types) before ORT sees it."""
    if not isinstance(value, Mapping):
        raise InputError(f"input {spec.name!r}: expected a dict for {spec.info.type}, got "
                         f"{type_name(value)}")
    info = spec.info
    key_et = element_type(info.key_type) if info.key_type else None
    value_info = info.value
    value_et = value_info.element_type if value_info is not None else None
    if value_info is None or value_info.onnx_type != "tensor" or value_et is None:
        return dict(value)  # ORT's binding checks what we cannot describe
    return {_map_scalar(spec, "key", k, key_et): _map_scalar(spec, "value", v, value_et)
            for k, v in value.items()}


def prepare_feed(specs: dict[str, InputSpec], order: tuple[InputSpec, ...],
                 required: tuple[str, ...], inputs: Any) -> tuple[dict[str, Any], bool]:
    """Validate and convert run inputs into ORT's feed dict.

    Returns:
        ``(feed, uses_ortvalues)``: the feed and whether any value is an OrtValue (which
        requires the IO-binding route).
    """
    feed: dict[str, Any] = {}
    ortvalues = False
    if type(inputs) is dict or isinstance(inputs, Mapping):
        pairs: Any = inputs.items()
    elif isinstance(inputs, (list, tuple)):
        if len(inputs) > len(order):
            raise InputError(f"too many positional inputs: got {len(inputs)}, the model takes "
                             f"{len(order)} ({', '.join(s.name for s in order)})")
        pairs = zip([s.name for s in order], inputs)
    else:
        hint = (" (onnxruntime's sess.run(None, feed) is session.run(feed) here: inputs come "
                "first, then output_names)" if inputs is None else "")
        raise InputError(f"inputs must be a list/tuple in model input order or a dict keyed by "
                         f"input name, got {type_name(inputs)}{hint}")
    for name, value in pairs:
        spec = specs.get(name)
        if spec is None:
            raise InputError(_unknown(name, specs))
        static = spec.static_shape
        if static is not None:
            # hot path: a Tensor or ndarray of the exact dtype and fixed shape
            arr = value._array if type(value) is Tensor else value
            if type(arr) is _NDARRAY and arr.dtype is spec.dtype and arr.shape == static:
                feed[name] = arr
                continue
        elif spec.dynamic:
            # hot path with symbolic dimensions: the exact dtype, the declared rank and every
            # fixed dimension (what _check_dims checks), with no Python loop over dimensions
            arr = value._array if type(value) is Tensor else value
            if type(arr) is _NDARRAY and arr.dtype is spec.dtype:
                shape = arr.shape
                pick = spec.pick_fixed
                if spec.rank < 0 or (len(shape) == spec.rank
                                     and (pick is None or pick(shape) == spec.fixed)):
                    feed[name] = arr
                    continue
        v = convert_input(spec, value)
        if v is not None:
            if type(v) is not _NDARRAY:
                ortvalues = ortvalues or isinstance(v, (_ORTVALUE, CSequence))
            feed[name] = v
    for r in required:
        if r not in feed:
            missing = [r for r in required if r not in feed]
            raise InputError(f"missing required input(s) {missing}; the model takes "
                             + ", ".join(f"{s.name} ({s.describe()})" for s in order
                                         if s.required))
    return feed, ortvalues


def _unknown(name: Any, specs: Mapping[str, InputSpec]) -> str:
    import difflib

    names = list(specs)
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown input {name!r}{hint}; the model's inputs are {names}"


def check_output_names(output_names: Any, known: Mapping[str, int]) -> list[str]:
    """Validate a user list of output names."""
    if isinstance(output_names, str):
        output_names = [output_names]
    if not isinstance(output_names, (list, tuple)):
        hint = (" (inputs come first: session.run(inputs, output_names))"
                if isinstance(output_names, Mapping) else "")
        raise InputError(f"output_names must be a list of output names, got "
                         f"{type_name(output_names)}{hint}")
    if not output_names:
        raise InputError(f"output_names is empty: name at least one output (the model's "
                         f"outputs are {list(known)}), or pass None for all of them")
    for n in output_names:
        if not isinstance(n, str):
            raise InputError(f"output_names: each entry must be an output name (str), got "
                             f"{type_name(n)} {n!r}; the model's outputs are {list(known)}")
        if n not in known:
            raise NotFoundError(f"unknown output {n!r}; the model's outputs are {list(known)}")
    return list(output_names)
