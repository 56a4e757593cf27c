"""``SparseTensor``: ONNX sparse tensors (COO, CSR, block-sparse) in and out of runs.

A sparse tensor is its dense shape, the non-zero ``values`` and the ``indices`` that place them,
held as numpy arrays and checked when made (index types, lengths, bounds), so that ORT never sees
an index outside the dense shape. At the ORT boundary it becomes ORT's ``SparseTensor`` inside an
``OrtValue`` (inputs go through an IO binding, as other OrtValues do); sparse outputs (e.g. a
``Constant`` with a ``sparse_value``) come back as :class:`SparseTensor`.

Formats (ORT's ``OrtSparseFormat``):

* ``"coo"``: ``indices`` int64, either ``[nnz]`` linear (row-major) indices or ``[nnz, rank]``
  coordinates;
* ``"csr"`` (2-D): ``inner_indices`` int64 ``[nnz]`` (column of each value) and
  ``outer_indices`` int64 ``[rows + 1]`` (where each row starts in ``values``);
* ``"block_sparse"``: ``values`` ``[blocks, *block_shape]``, ``indices`` int32
  ``[2, blocks]`` (block row and block column of each block, in block units).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _engine
from ._conversion import check_shape, coerce, type_name
from ._errors import TensorError
from ._tensor import Tensor
from ._types import ElementType, element_type, element_type_from_dtype

__all__ = ["SparseTensor"]


class SparseTensor:
    """An ONNX sparse tensor: ``format``, ``dense_shape``, ``values`` and ``indices``.

    Make one with :meth:`coo`, :meth:`csr`, :meth:`block_sparse` or :meth:`from_dense`; runs
    return them for sparse outputs, and take them for ``sparse_tensor`` inputs.
    """

    __slots__ = ("_dense_shape", "_etype", "_format", "_indices", "_values")

    def __init__(self, fmt: str, dense_shape: tuple[int, ...], values: np.ndarray[Any, Any],
                 indices: tuple[np.ndarray[Any, Any], ...]) -> None:
        """Hold already checked parts; use the class methods to make one."""
        self._format = fmt
        self._dense_shape = dense_shape
        self._values = values
        self._indices = indices
        self._etype = element_type_from_dtype(values.dtype)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def coo(cls, dense_shape: Sequence[int], values: Any, indices: Any, *,
            data_type: ElementType | str | None = None) -> SparseTensor:
        """Make a COO sparse tensor.

        Args:
            dense_shape: the dense tensor's dimensions.
            values: the ``nnz`` non-zero values (a 1-D array of a numeric or bool type).
            indices: int64 ``[nnz]`` linear row-major indices, or ``[nnz, rank]`` coordinates
                (ORT's CPU kernels, e.g. ``SparseToDenseMatMul``, take coordinates).
            data_type: element type of the values (converted with the checks of
                :func:`ortsession.tensor`); default: the values' own numpy dtype.

        Raises:
            TensorError: wrong index type or shape, an index outside ``dense_shape``, or a
                value count that does not match the indices.
        """
        shape = check_shape(dense_shape, "SparseTensor.coo(): dense_shape")
        vals = _values(values, "SparseTensor.coo()", 1, data_type)
        idx = _index_array(indices, np.int64, "SparseTensor.coo(): indices")
        nnz = vals.shape[0]
        if idx.ndim == 1:
            if idx.shape[0] != nnz:
                raise TensorError(f"SparseTensor.coo(): {nnz} values need {nnz} linear indices, "
                                  f"got {idx.shape[0]}")
            _in_range(idx, math.prod(shape), "SparseTensor.coo(): linear index")
        elif idx.ndim == 2 and idx.shape == (nnz, len(shape)):
            for axis, dim in enumerate(shape):
                _in_range(idx[:, axis], dim, f"SparseTensor.coo(): index of dimension {axis}")
        else:
            raise TensorError(f"SparseTensor.coo(): indices must have shape [{nnz}] (linear) or "
                              f"[{nnz}, {len(shape)}] (coordinates), got {list(idx.shape)}")
        return cls("coo", shape, vals, (idx,))

    @classmethod
    def csr(cls, dense_shape: Sequence[int], values: Any, inner_indices: Any,
            outer_indices: Any, *, data_type: ElementType | str | None = None) -> SparseTensor:
        """Make a CSR (compressed sparse row) 2-D sparse tensor.

        Args:
            dense_shape: ``[rows, columns]``.
            values: the ``nnz`` non-zero values, row by row.
            inner_indices: int64 ``[nnz]``: the column of each value.
            outer_indices: int64 ``[rows + 1]``: where each row starts in ``values``
                (non-decreasing, from 0 to ``nnz``).
            data_type: element type of the values (default: their numpy dtype).

        Raises:
            TensorError: the arrays do not describe a valid CSR layout of ``dense_shape``.
        """
        shape = check_shape(dense_shape, "SparseTensor.csr(): dense_shape")
        if len(shape) != 2:
            raise TensorError(f"SparseTensor.csr(): dense_shape must be [rows, columns], got "
                              f"{list(shape)}")
        vals = _values(values, "SparseTensor.csr()", 1, data_type)
        inner = _index_array(inner_indices, np.int64, "SparseTensor.csr(): inner_indices")
        outer = _index_array(outer_indices, np.int64, "SparseTensor.csr(): outer_indices")
        nnz = vals.shape[0]
        if inner.shape != (nnz,):
            raise TensorError(f"SparseTensor.csr(): inner_indices must have shape [{nnz}] (one "
                              f"column per value), got {list(inner.shape)}")
        _in_range(inner, shape[1], "SparseTensor.csr(): column index")
        if (outer.shape != (shape[0] + 1,) or int(outer[0]) != 0 or int(outer[-1]) != nnz
                or bool(np.any(np.diff(outer) < 0))):
            raise TensorError(f"SparseTensor.csr(): outer_indices must be {shape[0] + 1} "
                              f"non-decreasing offsets from 0 to {nnz}, got {outer.tolist()}")
        return cls("csr", shape, vals, (inner, outer))

    @classmethod
    def block_sparse(cls, dense_shape: Sequence[int], values: Any, indices: Any, *,
                     data_type: ElementType | str | None = None) -> SparseTensor:
        """Make a block-sparse 2-D tensor.

        Args:
            dense_shape: ``[rows, columns]``, multiples of the block shape.
            values: ``[blocks, block_rows, block_columns]``: the dense blocks.
            indices: int32 ``[2, blocks]``: block row and block column of each block.
            data_type: element type of the values (default: their numpy dtype).

        Raises:
            TensorError: the arrays do not describe blocks inside ``dense_shape``.
        """
        shape = check_shape(dense_shape, "SparseTensor.block_sparse(): dense_shape")
        vals = _values(values, "SparseTensor.block_sparse()", 3, data_type)
        idx = _index_array(indices, np.int32, "SparseTensor.block_sparse(): indices")
        blocks, bh, bw = vals.shape
        if len(shape) != 2 or bh == 0 or bw == 0 or shape[0] % bh or shape[1] % bw:
            raise TensorError(f"SparseTensor.block_sparse(): dense_shape {list(shape)} must be "
                              f"2-D and a multiple of the block shape [{bh}, {bw}]")
        if idx.shape != (2, blocks):
            raise TensorError(f"SparseTensor.block_sparse(): indices must have shape "
                              f"[2, {blocks}], got {list(idx.shape)}")
        _in_range(idx[0], shape[0] // bh, "SparseTensor.block_sparse(): block row")
        _in_range(idx[1], shape[1] // bw, "SparseTensor.block_sparse(): block column")
        return cls("block_sparse", shape, vals, (idx,))

    @classmethod
    def from_dense(cls, data: Any, fmt: str = "coo") -> SparseTensor:
        """Make a COO (``[nnz, rank]`` coordinates) or CSR sparse tensor of an array's non-zeros.

        Raises:
            TensorError: an unknown format, CSR of an array that is not 2-D, or a type that a
                sparse tensor cannot hold.
        """
        arr = np.ascontiguousarray(data.numpy() if isinstance(data, Tensor) else data)
        if fmt == "coo":
            coords = np.argwhere(arr).astype(np.int64)  # [nnz, rank]: what ORT's kernels take
            return cls.coo(arr.shape, arr[tuple(coords.T)], coords.reshape(-1, arr.ndim))
        if fmt == "csr":
            if arr.ndim != 2:
                raise TensorError(f"SparseTensor.from_dense(): csr needs a 2-D array, got shape "
                                  f"{list(arr.shape)}")
            rows, cols = np.nonzero(arr)
            outer = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=arr.shape[0]))])
            return cls.csr(arr.shape, arr[rows, cols], cols.astype(np.int64),
                           outer.astype(np.int64))
        raise TensorError(f"SparseTensor.from_dense(): format must be 'coo' or 'csr', got "
                          f"{fmt!r}")

    # -- properties -----------------------------------------------------------------------
    @property
    def format(self) -> str:
        """``"coo"``, ``"csr"`` or ``"block_sparse"``."""
        return self._format

    @property
    def dense_shape(self) -> tuple[int, ...]:
        """The dimensions of the dense tensor this sparse tensor stands for."""
        return self._dense_shape

    @property
    def values(self) -> np.ndarray[Any, Any]:
        """The non-zero values (``[nnz]``; block-sparse: ``[blocks, block_rows, block_cols]``)."""
        return self._values

    @property
    def indices(self) -> tuple[np.ndarray[Any, Any], ...]:
        """The index arrays: ``(indices,)`` for COO and block-sparse, ``(inner, outer)`` for CSR."""
        return self._indices

    @property
    def data_type(self) -> str:
        """Element type name of the values (``"float32"``, …)."""
        return self._etype.type_name

    @property
    def element_type(self) -> ElementType:
        """Element type of the values as an :class:`ElementType` member."""
        return self._etype

    def to_dense(self) -> Tensor:
        """Return the dense tensor (zeros where no value is given)."""
        dense = np.zeros(self._dense_shape, dtype=self._values.dtype)
        if self._format == "coo":
            (idx,) = self._indices
            if idx.ndim == 1:
                dense.reshape(-1)[idx] = self._values
            else:
                dense[tuple(idx.T)] = self._values
        elif self._format == "csr":
            inner, outer = self._indices
            rows = np.repeat(np.arange(self._dense_shape[0]), np.diff(outer))
            dense[rows, inner] = self._values
        else:
            (idx,) = self._indices
            _, bh, bw = self._values.shape
            for k, (r, c) in enumerate(idx.T.tolist()):
                dense[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw] = self._values[k]
        return Tensor._wrap(dense, self._etype)

    def __repr__(self) -> str:
        return (f"SparseTensor({self._format}, {self.data_type}, dense_shape="
                f"{list(self._dense_shape)}, nnz={self._values.shape[0]})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SparseTensor):
            return NotImplemented
        return (self._format == other._format and self._dense_shape == other._dense_shape
                and self._etype is other._etype
                and bool(np.array_equal(self._values, other._values))
                and all(np.array_equal(a, b) for a, b in zip(self._indices, other._indices)))

    __hash__ = None  # type: ignore[assignment]

    # -- ORT boundary ---------------------------------------------------------------------
    def _to_ortvalue(self) -> Any:
        """Return an ORT OrtValue holding this sparse tensor (ORT copies the arrays)."""
        return _engine.sparse_ortvalue(self._format, list(self._dense_shape), self._values,
                                       self._indices)

    @classmethod
    def _from_ort(cls, st: Any) -> SparseTensor:
        """Wrap ORT's ``SparseTensor`` (an output), copying its arrays."""
        fmt, shape, values, indices = _engine.sparse_parts(st)
        return cls(fmt, tuple(int(d) for d in shape), np.array(values, copy=True),
                   tuple(np.array(i, copy=True) for i in indices))


def _values(values: Any, what: str, ndim: int,
            data_type: ElementType | str | None) -> np.ndarray[Any, Any]:
    data = values.numpy() if isinstance(values, Tensor) else values
    if data_type is not None:
        data = coerce(data, element_type(data_type), f"{what}: values")
    arr = np.ascontiguousarray(data)
    try:
        et = element_type_from_dtype(arr.dtype)
    except Exception:
        et = None
    if et is None or not et.is_native or et is ElementType.STRING:
        raise TensorError(f"{what}: values must be a numeric or bool array, got "
                          f"{type_name(values)}")
    if arr.ndim != ndim:
        raise TensorError(f"{what}: values must be {ndim}-D, got shape {list(arr.shape)}")
    return arr.astype(arr.dtype.newbyteorder("="), copy=False)


def _index_array(data: Any, dtype: Any, what: str) -> np.ndarray[Any, Any]:
    arr = np.asarray(data)
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TensorError(f"{what}: expected integers, got {type_name(data)}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _in_range(idx: np.ndarray[Any, Any], bound: int, what: str) -> None:
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= bound):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise TensorError(f"{what} {bad} is outside [0, {bound})")

