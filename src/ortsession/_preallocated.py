"""Preallocated outputs: ORT writing into the caller's tensors (``run_into``, ``bind_output``).

An output target is checked against the model's signature (:func:`check_target`), naming the
call the user made; :class:`IntoPlan` is a bound ``run_into`` call that a repeated call with the
very same objects reuses (the thread-local plan of ``Session.run_into``).
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import is_
from typing import Any

import numpy as np

from . import _engine
from ._conversion import type_name
from ._creation import tensor_from_ortvalue
from ._errors import InputError, NotFoundError
from ._execution import bind_input_value, bindable, copy_into, outputs_from_binding
from ._feeds import InputSpec, prepare_feed
from ._outputs import Outputs
from ._protocols import OrtIOBinding, OrtSession
from ._signature import Signature
from ._tensor import Tensor
from ._types import ElementType

__all__ = ["IntoPlan", "bind_into", "bind_output_tensor", "check_target", "copy_back"]


def check_target_array(arr: np.ndarray[Any, Any], name: str, context: str) -> None:
    """Refuse an array ORT cannot write an output into in place, before anything is bound.

    ORT writes an output as one C-contiguous block of native-endian values at the array's data
    pointer: a strided or reversed view would get wrong values and the memory around it
    overwritten, and a big-endian array would be left unchanged (a converted copy gets written).
    """
    problem = None
    if not arr.flags.writeable:
        problem = "the preallocated tensor is read-only"
    elif not arr.flags.c_contiguous:
        problem = (f"the preallocated array is not C-contiguous (strides {list(arr.strides)}: "
                   f"a strided or reversed view such as base[::2] or base[::-1]), and ONNX "
                   f"Runtime writes outputs as one contiguous block; pass a contiguous array "
                   f"(np.ascontiguousarray(view), then copy it back into the view)")
    elif not arr.dtype.isnative:
        problem = (f"the preallocated array is big-endian ({arr.dtype.str!r}), and ONNX Runtime "
                   f"writes native-endian values; pass a native array (e.g. np.zeros(shape, "
                   f"{arr.dtype.newbyteorder('=').str!r})) and convert the result afterwards")
    elif not arr.flags.aligned:
        problem = ("the preallocated array is not aligned to its element size; pass an "
                   "aligned array (e.g. from np.zeros or np.empty)")
    if problem is not None:
        raise InputError(f"{context}: output {name!r}: {problem}")


def bind_output_tensor(binding: OrtIOBinding, name: str, target: Tensor) -> Any:
    """Bind ``target``'s host buffer as output ``name``.

    Returns:
        ``None`` when ORT writes straight into the buffer, else an OrtValue to copy back from
        (sub-byte types, whose numpy form is unpacked).
    """
    et = target._etype
    arr = target._array
    if arr is None:
        binding.bind_ortvalue_output(name, target._ortvalue)
        return None
    if et.is_packed or et is ElementType.STRING:
        ov = _engine.empty_ortvalue(list(arr.shape), int(et)) if et.is_packed else None
        if ov is None:
            binding.bind_output(name, _engine.CPU_DEVICE)
        else:
            binding.bind_ortvalue_output(name, ov)
        return ov if ov is not None else True
    dtype: Any = arr.dtype if et.is_native else int(et)
    binding.bind_output(name, _engine.CPU_DEVICE, dtype, list(arr.shape), arr.ctypes.data)
    return None


def copy_back(binding: OrtIOBinding, staged: list[tuple[int, str, Tensor, Any]],
              context: str) -> None:
    """Copy outputs that ORT could not write in place into the caller's tensors.

    ``staged`` holds ``(output index, name, target, what bind_output_tensor returned)``:
    ``True`` for strings (ORT allocated the output), else the OrtValue ORT wrote into.
    """
    produced: list[Any] | None = None
    for index, name, target, extra in staged:
        if extra is True:
            if produced is None:  # convert the binding's outputs once, not once per string
                produced = outputs_from_binding(binding)
            value = produced[index]
        else:
            value = tensor_from_ortvalue(extra)
        copy_into(target, value, name, context)


def check_target(signature: Signature, name: Any, target: Any, context: str) -> Tensor:
    """Check a preallocated output for ``context`` (the call the user made); return its Tensor."""
    i = signature.output_index.get(name) if isinstance(name, str) else None
    if i is None:
        raise NotFoundError(f"{context}: unknown output {name!r}; the model's outputs are "
                            f"{signature.output_names}")
    info = signature.outputs[i]
    if isinstance(target, np.ndarray):
        check_target_array(target, name, context)  # before Tensor() would copy it
        target = Tensor(target)
    if not isinstance(target, Tensor):
        raise InputError(f"{context}: output {name!r} needs a preallocated Tensor (or a "
                         f"C-contiguous numpy array), got {type_name(target)}")
    spec = InputSpec.from_info(info, True)
    if spec.element_type is None:
        raise InputError(f"{context}: output {name!r} is a {info.type}, only tensor "
                         f"outputs can be preallocated")
    if target._etype is not spec.element_type:
        raise InputError(f"{context}: output {name!r} is {spec.element_type.type_name}, "
                         f"the preallocated tensor is {target.data_type}")
    shape = target.shape
    if spec.dims is not None and (len(shape) != len(spec.dims) or any(
            d >= 0 and d != s for d, s in zip(spec.dims, shape))):
        raise InputError(f"{context}: output {name!r} has shape {list(spec.dims)}, the "
                         f"preallocated tensor has shape {list(shape)}")
    if target._array is not None:
        check_target_array(target._array, name, context)
    return target


def bind_into(signature: Signature, sess: OrtSession, inputs: Any, outputs: Any) -> IntoPlan:
    """Check and bind a ``run_into`` call: inputs converted, every output target checked."""
    if not isinstance(outputs, Mapping) or not outputs:
        raise InputError(f"run_into(): outputs must be a non-empty dict of output name → "
                         f"preallocated Tensor, got {outputs!r}")
    feed, _ = prepare_feed(signature.specs, signature.order, signature.required, inputs)
    names = list(outputs)
    checked = [check_target(signature, name, target, "run_into()")
               for name, target in outputs.items()]
    targets = list(outputs.values())
    if not all(bindable(v) for v in feed.values()):
        return IntoPlan(None, feed, inputs, outputs, names, targets, [], cacheable=False)
    given = (inputs if isinstance(inputs, Mapping)
             else {s.name: v for s, v in zip(signature.order, inputs)})
    binding = _engine.io_binding(sess)
    # A plan is reusable only when ORT reads every input straight from the caller's own
    # array: then in-place changes are seen, and nothing converted here can go stale.
    by_pointer = True
    for name, value in feed.items():
        bound = bind_input_value(binding, name, value)
        if bound is None:
            by_pointer = False
        else:
            feed[name] = bound  # keep the bound copy alive with the plan
            by_pointer = by_pointer and bound is array_of(given.get(name))
    staged: list[tuple[int, str, Tensor, Any]] = []
    for i, (name, tensor) in enumerate(zip(names, checked)):
        extra = bind_output_tensor(binding, name, tensor)
        if extra is not None:
            staged.append((i, name, tensor, extra))
    return IntoPlan(binding, feed, inputs, outputs, names, targets, staged,
                     cacheable=by_pointer and not staged)


class IntoPlan:
    """A bound ``run_into`` call, reusable while the caller passes the same objects."""

    __slots__ = ("binding", "cacheable", "feed", "in_dict", "in_keys", "in_len", "in_objs",
                 "in_shapes", "out_items", "out_keys", "out_objs", "result", "staged")

    @property
    def names(self) -> list[str]:
        """The output names, in the caller's order."""
        return self.result.names()

    def __init__(self, binding: OrtIOBinding | None, feed: dict[str, Any], inputs: Any,
                 outputs: Mapping[str, Any], names: list[str], targets: list[Any],
                 staged: list[tuple[int, str, Tensor, Any]], cacheable: bool) -> None:
        self.binding = binding
        self.feed = feed  # what ORT reads by pointer must live as long as the binding
        self.result = Outputs(names, targets)
        self.staged = staged
        self.cacheable = cacheable
        self.in_dict = isinstance(inputs, dict)
        self.in_keys = frozenset(inputs) if self.in_dict else frozenset()
        self.in_objs = tuple(inputs.values() if isinstance(inputs, Mapping) else inputs)
        self.in_len = len(self.in_objs)
        # ORT reads each bound array with the shape it had when bound: an array reshaped in
        # place since then must be bound again
        arrays = [a for a in map(array_of, self.in_objs) if a is not None]
        self.in_shapes = tuple((a, a.shape) for a in arrays)
        self.out_items = tuple(outputs.items())
        self.out_keys = frozenset(outputs)
        self.out_objs = tuple(outputs.values())

    def matches(self, inputs: Any, outputs: Any) -> bool:
        """Tell whether ``inputs``/``outputs`` are the very objects this plan bound.

        Hot path of a repeated ``run_into``: C-level identity checks, no Python loop over
        the values.
        """
        kind = type(inputs)
        if kind is dict:
            if not self.in_dict or inputs.keys() != self.in_keys:
                return False
            values = inputs.values()
        elif kind is list or kind is tuple:
            if self.in_dict or len(inputs) != self.in_len:
                return False
            values = inputs
        else:
            return False
        if not all(map(is_, values, self.in_objs)):
            return False
        for arr, shape in self.in_shapes:
            if arr.shape != shape:
                return False
        return (type(outputs) is dict and outputs.keys() == self.out_keys
                and all(map(is_, outputs.values(), self.out_objs)))

    def finish(self) -> None:
        """Copy outputs that ORT could not write in place into the caller's tensors."""
        if self.staged and self.binding is not None:  # staged only when bound
            copy_back(self.binding, self.staged, "run_into()")

    def fill(self, values: list[Any]) -> None:
        """Copy the outputs of an unbound run into the caller's tensors."""
        for (name, target), value in zip(self.out_items, values):
            copy_into(target, value, name, "run_into()")


def array_of(value: Any) -> Any:
    """Return the numpy array ORT would read for an input value (``None``: not an array)."""
    if type(value) is Tensor:
        return value._array
    return value if type(value) is np.ndarray else None
