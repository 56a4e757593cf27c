"""``IOBinding``: inputs and outputs bound ahead of time, for repeated or device-resident runs."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeVar, cast

import numpy as np

from . import _engine
from ._conversion import type_name
from ._creation import tensor, tensor_from_ortvalue
from ._errors import InputError, NotFoundError, OptionError, RunError, StateError
from ._execution import (
    bind_input_value,
    bindable,
    copy_into,
    has_ortvalues,
    ort_run_options,
    outputs_from_binding,
    run_feed,
)
from ._feeds import convert_input
from ._optional import Optional
from ._outputs import Outputs
from ._preallocated import bind_output_tensor, check_target, copy_back
from ._protocols import OrtRunOptions, OrtSession
from ._run_options import RunOptions
from ._signature import Signature
from ._tensor import Tensor

__all__ = ["IOBinding"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Run ``method`` under the binding's lock: one use of a binding at a time."""

    @functools.wraps(method)
    def locked(self: IOBinding, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast("_F", locked)

_RUN_ERRORS: Final = _engine.Mapped("run_with_iobinding()", RunError)


class BindingHost(Protocol):
    """What a binding needs of its session (``Session`` is one)."""

    _ort: OrtSession | None
    """ORT's session; ``None`` once closed."""
    _signature: Signature
    _default_ro: OrtRunOptions
    _generation: int

    @property
    def generation(self) -> int:
        """Incremented by each rebuild."""

    @property
    def _sess(self) -> OrtSession:
        """ORT's session, or :class:`StateError` (the session's own message) once closed."""


class IOBinding:
    """Inputs and outputs bound to a session ahead of a run (``session.create_io_binding()``).

    Numeric tensors are bound by pointer: ORT reads the caller's array at each run, so changes
    made to it in place are seen. String tensors, sequences and maps, which ORT's Python binding
    cannot bind, are held by the binding and passed to ORT at each run instead (their outputs
    are then copied into bound tensors).

    A binding belongs to one build of its session: after the session is closed or rebuilt by
    ``register_custom_op_library``, using it raises :class:`StateError`; a run already in
    progress when the session is closed finishes normally.

    A binding is meant for one thread at a time. Used from several threads at once, its calls
    take turns (a lock serialises binding, clearing, running and reading the outputs), so they
    never corrupt it; make one binding per thread to run in parallel.
    """

    def __init__(self, session: BindingHost) -> None:
        """Create an empty binding for ``session``; prefer ``session.create_io_binding()``."""
        self._session = session
        self._generation = session.generation
        self._binding = _engine.io_binding(session._sess)
        self._inputs: dict[str, Any] = {}
        self._outputs: dict[str, tuple[str, Tensor | None, Any]] = {}
        self._ran = False
        self._fast: Outputs | None = None  # the result when every output is a bound tensor
        self._held: set[str] = set()  # inputs ORT's binding cannot take, passed at each run
        self._emulated: list[Any] | None = None  # outputs of the last run made without binding
        self._lock = threading.Lock()  # ORT's binding is not thread-safe: one call at a time

    def _check(self) -> OrtSession:
        sess = self._session._ort
        if sess is None:
            raise StateError("IOBinding: its session is closed")
        if self._session.generation != self._generation:
            raise StateError("IOBinding: its session was rebuilt (register_custom_op_library); "
                             "create a new binding with session.create_io_binding()")
        return sess

    @_locked
    def bind_input(self, name: str, value: Any) -> None:
        """Bind input (or overridable initializer) ``name`` to ``value``.

        Values are those :meth:`Session.run` accepts; empty optionals are refused.
        """
        self._check()
        specs = self._session._signature.specs
        spec = specs.get(name) if isinstance(name, str) else None
        if spec is None:
            raise NotFoundError(f"bind_input(): unknown input {name!r}; the model's inputs are "
                                f"{list(specs)}")
        if value is None or (isinstance(value, Optional) and value.value is None):
            raise InputError(f"bind_input(): input {name!r}: empty optionals cannot be bound; "
                             f"leave the input unbound instead")
        converted = convert_input(spec, value)
        if bindable(converted):
            bound = bind_input_value(self._binding, name, converted)
            self._held.discard(name)
        else:
            bound = None
            self._held.add(name)
        # keep the value (and any contiguous copy ORT reads by pointer) alive with the binding
        self._inputs[name] = (value, converted if bound is None else bound)
        self._fast = None

    @_locked
    def bind_output(self, name: str, spec_or_tensor: Tensor | np.ndarray[Any, Any] |
                    Mapping[str, Any] | None = None) -> Tensor | None:
        """Bind output ``name``.

        Forms:
            * ``bind_output("y")``: ORT allocates on the CPU; read it with :meth:`get_outputs`.
            * ``bind_output("y", tensor)``: ORT writes into ``tensor`` (returned).
            * ``bind_output("y", {"type": "float32", "shape": [1, 2]})``: a new tensor is created,
              bound and returned.
            * ``bind_output("y", {"mode": "device"})``: ORT allocates on the session's device.
        """
        sess = self._check()
        signature = self._session._signature
        index = signature.output_index.get(name) if isinstance(name, str) else None
        if index is None:
            raise NotFoundError(f"bind_output(): unknown output {name!r}; the model's outputs "
                                f"are {signature.output_names}")
        if spec_or_tensor is None:
            self._binding.bind_output(name, _engine.CPU_DEVICE)
            self._outputs[name] = ("cpu", None, None)
            self._fast = None
            return None
        if isinstance(spec_or_tensor, Mapping):
            keys = set(spec_or_tensor)
            if keys == {"mode"}:
                mode = spec_or_tensor["mode"]
                if mode not in ("device", "cpu"):
                    raise OptionError(f"bind_output(): 'mode' must be 'device' or 'cpu', got "
                                      f"{mode!r}")
                device = (_engine.output_device(sess, index) if mode == "device"
                          else _engine.CPU_DEVICE)
                self._binding.bind_output(name, device)
                self._outputs[name] = (mode, None, None)
                self._fast = None
                return None
            if keys != {"type", "shape"}:
                raise OptionError(f"bind_output(): a spec needs exactly 'type' and 'shape' (or "
                                  f"'mode'), got keys {sorted(map(str, keys))}")
            spec_or_tensor = tensor(spec_or_tensor["type"], spec_or_tensor["shape"])
        if not isinstance(spec_or_tensor, (Tensor, np.ndarray)):
            raise InputError(f"bind_output(): output {name!r}: expected a Tensor, a "
                             f"{{type, shape}} spec or {{mode='device'}}, got "
                             f"{type_name(spec_or_tensor)}")
        target = check_target(signature, name, spec_or_tensor, "bind_output()")
        staged = bind_output_tensor(self._binding, name, target)
        self._outputs[name] = ("tensor", target, staged)
        self._fast = None
        return target

    @_locked
    def clear_inputs(self) -> None:
        """Remove every bound input."""
        self._check()
        self._binding.clear_binding_inputs()
        self._inputs.clear()
        self._held.clear()
        self._fast = None

    @_locked
    def clear_outputs(self) -> None:
        """Remove every bound output."""
        self._check()
        self._binding.clear_binding_outputs()
        self._outputs.clear()
        self._ran = False
        self._fast = None
        self._emulated = None

    @_locked
    def synchronize_inputs(self) -> None:
        """Wait until bound inputs are ready on their devices (no-op on CPU)."""
        self._check()
        self._binding.synchronize_inputs()

    @_locked
    def synchronize_outputs(self) -> None:
        """Wait until bound outputs are ready on their devices (no-op on CPU)."""
        self._check()
        self._binding.synchronize_outputs()

    @_locked
    def get_outputs(self) -> Outputs:
        """Return the bound outputs of the last run, by position and name."""
        self._check()
        return self._last_outputs()

    def _last_outputs(self) -> Outputs:
        if not self._ran:
            raise StateError("get_outputs(): the binding has not been run yet; call "
                             "session.run_with_iobinding(binding)")
        names = list(self._outputs)
        if self._emulated is not None:
            return Outputs(names, list(self._emulated))
        needs_ort = any(kind != "tensor" for kind, _, _ in self._outputs.values())
        produced = self._produced() if needs_ort else None
        values: list[Any] = []
        for i, (kind, target, _) in enumerate(self._outputs.values()):
            if kind == "tensor":
                values.append(target)
            else:
                assert produced is not None
                values.append(produced[i])
        return Outputs(names, values)

    def _produced(self) -> list[Any]:
        """Return the outputs ORT allocated, detached from the binding's buffers.

        ORT reuses those buffers at the next run, so host tensors are copied: a result, once
        returned, does not change. (Bind a tensor to an output to have it written in place.)
        """
        ovs = self._binding.get_outputs()
        if all(ovs[i].has_value() and ovs[i].is_tensor() for i in range(len(ovs))):
            produced = [tensor_from_ortvalue(ovs[i]) for i in range(len(ovs))]
        else:
            produced = outputs_from_binding(self._binding)
        return [_detached(v) for v in produced]

    def _run(self, run_options: RunOptions | None) -> Outputs:
        with self._lock:  # inline, not @_locked: this is the hot path of repeated runs
            fast = self._fast
            if fast is not None and self._session._generation == self._generation:
                # hot path: validated before, every output written in place by ORT
                sess = self._session._ort
                if sess is not None:
                    ro = (self._session._default_ro if run_options is None
                          else ort_run_options(run_options))
                    try:  # not a with block: the hot path (see _engine.Mapped)
                        sess.run_with_iobinding(self._binding, ro)
                    except Exception as exc:
                        raise _RUN_ERRORS.error(exc) from exc
                    return fast
            sess = self._check()
            if not self._outputs:
                raise InputError("run_with_iobinding(): no output is bound; call bind_output()")
            missing = self._session._signature.missing(self._inputs)
            if missing:
                raise InputError(f"run_with_iobinding(): required input(s) {missing} are not bound")
            ro = (self._session._default_ro if run_options is None
                  else ort_run_options(run_options))
            if self._held:
                return self._run_held(sess, ro)
            with _RUN_ERRORS:
                sess.run_with_iobinding(self._binding, ro)
            self._emulated = None
            pending = [(i, name, target, staged)
                       for i, (name, (kind, target, staged)) in enumerate(self._outputs.items())
                       if kind == "tensor" and staged is not None and target is not None]
            if pending:
                copy_back(self._binding, pending, "run_with_iobinding()")
            self._ran = True
            result = self._last_outputs()  # no _check(): a close() during the run must not fail it
            if all(kind == "tensor" and staged is None
                   for kind, _, staged in self._outputs.values()):
                self._fast = result
            return result

    def _run_held(self, sess: OrtSession, ro: OrtRunOptions) -> Outputs:
        """Run with inputs ORT's binding cannot hold: pass them all, then fill the outputs."""
        feed = {name: converted for name, (_, converted) in self._inputs.items()}
        names = list(self._outputs)
        bound = self._session._signature.needs_binding(names, has_ortvalues(feed))
        values = run_feed(sess, feed, names, ro, bound, "run_with_iobinding()")
        for i, (name, (kind, target, _)) in enumerate(self._outputs.items()):
            if kind == "tensor":
                copy_into(target, values[i], name, "run_with_iobinding()")
                values[i] = target
        self._emulated = values
        self._ran = True
        return Outputs(names, list(values))

    def __repr__(self) -> str:
        return (f"<IOBinding inputs={list(self._inputs)} outputs={list(self._outputs)} "
                f"of {self._session!r}>")


def _detached(value: Any) -> Any:
    """Return a host tensor owning its data (not a view of a buffer ORT will reuse)."""
    if isinstance(value, Tensor):
        arr = value._array
        if arr is not None and not arr.flags.owndata:
            return Tensor._wrap(arr.copy(), value._etype)
    return value
