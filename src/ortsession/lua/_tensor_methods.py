"""The Python half of the Lua tensor methods (``t:get(1, 2)``, ``t:softmax()`` …).

Each converts its Lua arguments (1-based positions, tables), calls the function of
:mod:`ortsession.ops` and converts the result back (positions it returns are 1-based).
"""

from __future__ import annotations

from typing import Any

from ortsession import Tensor, TensorError
from ortsession.ops import _common

from ._convert import lua_int
from ._ops_values import OpsValues, ops, zero_based

__all__ = ["TensorMethods"]


class TensorMethods(OpsValues):
    """The tensor methods (``t_`` functions) and the element-wise module functions."""

    def lua_t_info(self, t: Any) -> Any:
        return self.out(ops().info(t))

    def lua_t_rank(self, t: Tensor) -> Any:
        return len(t.shape)

    def lua_t_size(self, t: Tensor) -> Any:
        return t.element_count

    def lua_t_type(self, t: Tensor) -> Any:
        return t.data_type.encode()

    def lua_t_bytes(self, t: Tensor) -> Any:
        if t.data_type == "string":
            raise TensorError("string tensors have no byte form")
        return t.tobytes()

    def lua_t_get(self, t: Tensor, *index: Any) -> Any:
        pos = [zero_based(i, f"argument {k + 1}") for k, i in enumerate(index)]
        return self.out(ops().get(t, *pos))

    def lua_t_set(self, t: Tensor, *args: Any) -> Any:
        if not args:
            raise TensorError("expected indices and a value")
        *index, value = args
        pos = [zero_based(i, f"argument {k + 1}") for k, i in enumerate(index)]
        ops().set(t, *pos, self._val(value))
        return True

    def lua_t_fill(self, t: Tensor, value: Any = None) -> Any:
        ops().fill(t, self._val(value))
        return True

    def lua_t_clone(self, t: Tensor) -> Any:
        return self.out(ops().clone(t))

    def lua_t_copy_from_bytes(self, t: Tensor, data: Any = None) -> Any:
        if type(data) is not bytes:
            raise TensorError(f"expected a string of bytes, got {_common.show(self._val(data))}")
        ops().copy_from_bytes(t, data)
        return True

    def lua_t_to(self, t: Tensor, type_: Any = None) -> Any:
        return self.out(ops().to(t, self._val(type_)))

    def lua_t_reshape(self, t: Tensor, shape: Any = None) -> Any:
        return self.out(ops().reshape(t, self._val(shape)))

    def lua_t_transpose(self, t: Tensor, axes: Any = None) -> Any:
        given = self._val(axes)
        if given is not None and not isinstance(given, list):
            raise TensorError(f"axes must be a table of dimensions, got {_common.show(given)}")
        ax = None if given is None else [zero_based(a, "axis") for a in given]
        return self.out(ops().transpose(t, ax))

    def lua_t_flatten(self, t: Tensor, start: Any = None, end: Any = None) -> Any:
        s = 0 if start is None else zero_based(start, "start_dim")
        e = -1 if end is None else zero_based(end, "end_dim")
        return self.out(ops().flatten(t, s, e))

    def lua_t_squeeze(self, t: Tensor, dim: Any = None) -> Any:
        return self.out(ops().squeeze(t, None if dim is None else zero_based(dim, "dim")))

    def lua_t_unsqueeze(self, t: Tensor, dim: Any = None) -> Any:
        return self.out(ops().unsqueeze(t, zero_based(dim, "dim")))

    def lua_t_slice(self, t: Tensor, dim: Any = None, start: Any = None, stop: Any = None,
                    step: Any = None) -> Any:
        d = zero_based(dim, "dim")
        s = zero_based(start, "start")
        stop_ = lua_int(stop)
        if type(stop_) is not int:
            raise TensorError(f"stop must be an integer, got {_common.show(stop_)}")
        return self.out(ops().slice(t, d, s, stop_, 1 if step is None else lua_int(step)))

    def lua_t_select(self, t: Tensor, dim: Any = None, index: Any = None) -> Any:
        return self.out(ops().select(t, zero_based(dim, "dim"), zero_based(index, "index")))

    def lua_t_gather(self, t: Tensor, dim: Any = None, indices: Any = None) -> Any:
        idx = _common.as_array(self._val(indices), "indices", ndim=(0, 1))
        return self.out(ops().gather(t, zero_based(dim, "dim"), idx - 1))

    def _binary(self, name: str, t: Tensor, other: Any) -> Any:
        return self.out(getattr(ops(), name)(t, self._val(other)))

    def lua_t_add(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("add", t, other)

    def lua_t_sub(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("sub", t, other)

    def lua_t_mul(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("mul", t, other)

    def lua_t_div(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("div", t, other)

    def lua_t_dot(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("dot", t, other)

    def lua_clamp(self, t: Any, lo: Any = None, hi: Any = None) -> Any:
        return self.out(ops().clamp(self._val(t), lo, hi))

    def lua_sigmoid(self, t: Any) -> Any:
        return self.out(ops().sigmoid(self._val(t)))

    def lua_exp(self, t: Any) -> Any:
        return self.out(ops().exp(self._val(t)))

    def lua_matmul(self, a: Any, b: Any = None) -> Any:
        return self.out(ops().matmul(self._val(a), self._val(b)))

    def lua_t_argmax(self, t: Tensor, axis: Any = None) -> Any:
        if axis is None:
            return ops().argmax(t) + 1
        return self.out(self._plus1(ops().argmax(t, zero_based(axis, "axis"))))

    def _reduce(self, name: str, t: Tensor, axis: Any) -> Any:
        fn = getattr(ops(), name)
        return self.out(fn(t) if axis is None else fn(t, zero_based(axis, "axis")))

    def lua_t_sum(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("sum", t, axis)

    def lua_t_mean(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("mean", t, axis)

    def lua_t_max(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("max", t, axis)

    def lua_t_min(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("min", t, axis)

    def lua_t_softmax(self, t: Tensor, axis: Any = None) -> Any:
        return self.out(ops().softmax(t, -1 if axis is None else zero_based(axis, "axis")))

    def lua_t_normalize(self, t: Tensor, axis: Any = None) -> Any:
        return self.out(ops().normalize(t, -1 if axis is None else zero_based(axis, "axis")))

    def lua_t_sort(self, t: Tensor, axis: Any = None, descending: Any = None) -> Any:
        r = ops().sort(t, -1 if axis is None else zero_based(axis, "axis"), bool(descending))
        return self.out({"values": r.values, "indices": self._plus1(r.indices)})

    def lua_t_topk(self, t: Tensor, k: Any = None, axis: Any = None) -> Any:
        r = ops().topk(t, lua_int(k), -1 if axis is None else zero_based(axis, "axis"))
        return self.out({"values": r.values, "indices": self._plus1(r.indices)})

    def lua_where(self, cond: Any, x: Any = None, y: Any = None) -> Any:
        return self.out(ops().where(self._val(cond), self._val(x), self._val(y)))

    def lua_concat(self, tensors: Any, axis: Any = None) -> Any:
        return self.out(ops().concat(self._val(tensors), 0 if axis is None else
                                      zero_based(axis, "axis")))

    def lua_stack(self, tensors: Any, axis: Any = None) -> Any:
        return self.out(ops().stack(self._val(tensors), 0 if axis is None else
                                     zero_based(axis, "axis")))

