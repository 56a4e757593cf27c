"""The run paths of the Lua module: ``session:run``, ``run_into`` and ``run_with_iobinding``.

``onnxruntime.lua`` flattens a call's inputs (and outputs) into positional arguments, so no
table is converted here on the hot path. After a call the Lua half may ask for a plan
(:class:`RunPlan`): the converted call kept here, which a later call of the same shape repeats
with only the new values (``run_plan``/``run_into_plan``). Failures return ``(None, message)``,
Lua's ``nil, err``. Runs without run options use the bridge's own, so Ctrl-C stops every run
(:meth:`Runs.terminate_runs`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Final

import ortsession as ort
from ortsession import IOBinding, Outputs, RunOptions, Session, Tensor

from ._convert import Converter, decoded, error_message

__all__ = ["RunPlan", "Runs"]

_LUA_TYPES: Final[dict[type, str]] = {bool: "boolean", int: "number", float: "number",
                                      str: "string", bytes: "string", list: "table",
                                      dict: "table", type(None): "nil"}


class RunPlan:
    """A converted ``run``/``run_into`` call whose shape the Lua side repeats.

    The Lua side passes only the values, positionally: the input values (then, for
    ``run_into``, the preallocated outputs), or nothing when they are those of the last call;
    ``keys`` names the inputs (``None``: positional), ``out_keys`` the outputs of ``run_into``.
    ``tensors`` tells that every output of the first run was a ``Tensor`` (or an empty
    optional).
    """

    __slots__ = ("inputs", "keys", "method", "names", "out_keys", "outputs", "ro", "tensors")

    def __init__(self, method: Callable[..., Any], keys: tuple[Any, ...] | None, names: Any,
                 ro: Any, inputs: Any, *, tensors: bool = False, out_keys: tuple[Any, ...] = (),
                 outputs: Any = None) -> None:
        self.method = method
        self.keys = keys
        self.names = names
        self.ro = ro
        self.inputs = inputs  # the last call's converted inputs, reused when no values come
        self.outputs = outputs
        self.tensors = tensors
        self.out_keys = out_keys


class Runs(Converter):
    """The bridge's run functions (``lua_run`` …), over the conversions of :class:`Converter`."""

    def __init__(self, runtime: Any, lua_type: Callable[[Any], str | None]) -> None:
        """Bind to ``runtime`` (see :class:`Converter`)."""
        super().__init__(runtime, lua_type)
        self._last_outputs: tuple[Outputs, tuple[Any, ...]] | None = None
        # runs without run options use these, so that Ctrl-C can stop them (terminate_runs)
        self._ro = RunOptions()
        self._run_options: weakref.WeakSet[RunOptions] = weakref.WeakSet()

    def terminate_runs(self) -> None:
        """Stop every run in progress in this runtime (Ctrl-C): they end with TerminatedError."""
        self._ro.terminate()
        for ro in list(self._run_options):
            ro.terminate()

    def lua_run(self, s: Session, ro: Any, positional: bool, n: int, nn: int, want_plan: bool,
                *args: Any) -> Any:
        """Run ``s``; return ``(all_tensors, plan or None, *outputs)`` or ``(None, message)``."""
        ro = self._ro if ro is None else ro
        try:
            if positional:
                inputs: Any = list(args[:n])
                for i, v in enumerate(inputs):
                    if type(v) is not Tensor:
                        inputs[i] = self._input_value(s, i, v)
            else:
                inputs = {}
                for j in range(0, 2 * n, 2):
                    k, v = args[j], args[j + 1]
                    if type(k) is bytes:
                        k = k.decode("utf-8")
                    inputs[k] = v if type(v) is Tensor else self._input_value(s, k, v)
            if nn < 0:
                names = None
            else:
                start = n if positional else 2 * n
                names = [x.decode("utf-8") if type(x) is bytes else x
                         for x in args[start:start + nn]]
                for i, x in enumerate(names, 1):
                    if type(x) is not str:
                        kind = self.type_of(x) or _LUA_TYPES.get(type(x), "value")
                        known = ", ".join(f'"{o}"' for o in s.output_names())
                        raise ort.InputError(
                            f"output_names: entry {i} is a {kind}, expected an output name "
                            f"(a string); the model's outputs are {{{known}}}")
            out = s.run(inputs, names, ro)
        except Exception as exc:
            return None, error_message(exc, "session:run()")
        values = out.values()
        tensors = True
        for v in values:
            if type(v) is not Tensor and v is not None:
                tensors = False
                break
        plan = None
        if want_plan:  # all outputs in model order: None lets the session use its own index
            plan = RunPlan(s.run, None if positional else tuple(inputs),
                            None if names == s.output_names() else names, ro, inputs,
                            tensors=tensors)
        if tensors:
            return (True, plan, *values)
        return (False, plan, *[self.to_lua(x) for x in values])

    def lua_run_plan(self, plan: RunPlan, *values: Any) -> Any:
        """Repeat a planned run with new values: ``(all_tensors, *outputs)`` or failure."""
        try:
            if values:
                keys = plan.keys
                plan.inputs = list(values) if keys is None else dict(zip(keys, values))
            out = plan.method(plan.inputs, plan.names, plan.ro)
        except Exception as exc:
            return None, error_message(exc, "session:run()")
        values = out.values()
        if plan.tensors:  # every output a Tensor (or None, an empty optional) at the first run
            return (True, *values)
        return (False, *[self.to_lua(x) for x in values])

    def lua_run_into(self, s: Session, ro: Any, positional: bool, n: int, no: int,
                     want_plan: bool, *args: Any) -> Any:
        ro = self._ro if ro is None else ro
        try:
            inputs = self._inputs(s, positional, n, args)
            start = n if positional else 2 * n
            outputs: dict[Any, Any] = {}
            for j in range(start, start + 2 * no, 2):
                v = args[j + 1]
                outputs[decoded(args[j])] = v if type(v) is Tensor else self.from_lua(v)
            s.run_into(inputs, outputs, ro)
        except Exception as exc:
            return None, error_message(exc, "session:run_into()")
        if want_plan:
            return True, RunPlan(s.run_into, None if positional else tuple(inputs), None, ro,
                                  inputs, out_keys=tuple(outputs), outputs=outputs)
        return True

    def lua_run_into_plan(self, plan: RunPlan, *values: Any) -> Any:
        """Repeat a planned ``run_into`` with new values: ``True`` or failure."""
        try:
            if values:
                keys, n = plan.keys, len(values) - len(plan.out_keys)
                plan.inputs = list(values[:n]) if keys is None else dict(zip(keys, values[:n]))
                plan.outputs = dict(zip(plan.out_keys, values[n:]))
            plan.method(plan.inputs, plan.outputs, plan.ro)
        except Exception as exc:
            return None, error_message(exc, "session:run_into()")
        return True

    def lua_run_with_iobinding(self, s: Session, binding: IOBinding, ro: Any) -> Any:
        ro = self._ro if ro is None else ro
        try:
            out = s.run_with_iobinding(binding, ro)
        except Exception as exc:
            return None, error_message(exc, "session:run_with_iobinding()")
        last = self._last_outputs
        if last is not None and last[0] is out:
            return last[1]
        result = self._outputs(out)
        self._last_outputs = (out, result)
        return result

