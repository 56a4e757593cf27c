"""Shared memory between the job's process and its worker processes: arrays without pickling.

The job's process owns a few *slots* (as many as chunks may be in flight), each two shared memory
blocks: the chunk's input columns, written by the job's process, and the chunk's outputs, written
by the worker. A task message then carries only where the arrays lie (a :data:`Layout`); the worker
maps the blocks (once per block) and reads and writes them in place. The job's process copies the
outputs out when the answer comes, and the slot takes the next chunk. Blocks grow (are replaced
by bigger ones) when a chunk needs more room; the job's process unlinks them all when the job
ends (a killed job's blocks are unlinked by ``multiprocessing``'s resource tracker).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from multiprocessing import shared_memory
from typing import Any

import numpy as np

__all__ = ["Block", "Layout", "Mapped", "layout_of", "shareable", "views", "write"]

Layout = list[tuple[str, str, tuple[int, ...], int]]
"""``(name, dtype string, shape, byte offset)`` of each array in a block."""

_ALIGN = 64


def shareable(arrays: Mapping[str, Any]) -> bool:
    """Tell whether every value is a numeric or boolean ndarray (what a block can carry)."""
    return all(isinstance(a, np.ndarray) and a.dtype.kind in "biufc" for a in arrays.values())


def layout_of(specs: Sequence[tuple[str, tuple[int, ...], np.dtype[Any]]]) -> tuple[Layout, int]:
    """Place arrays of the given ``(name, shape, dtype)`` one after the other, aligned.

    Returns:
        The layout and the bytes it needs.
    """
    layout: Layout = []
    at = 0
    for name, shape, dtype in specs:
        layout.append((name, dtype.str, tuple(shape), at))
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        at += -(-size // _ALIGN) * _ALIGN
    return layout, at


def views(buf: Any, layout: Layout) -> dict[str, np.ndarray[Any, Any]]:
    """Return the arrays of ``layout`` over ``buf`` (no copy)."""
    out = {}
    for name, dtype, shape, offset in layout:
        count = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(buf, np.dtype(dtype), count, offset).reshape(shape)
    return out


def write(buf: Any, arrays: Mapping[str, np.ndarray[Any, Any]], layout: Layout) -> None:
    """Copy ``arrays`` into ``buf`` where ``layout`` places them."""
    for name, view in views(buf, layout).items():
        np.copyto(view, arrays[name], casting="no")


class Block:
    """A shared memory block owned by the job's process, replaced by a bigger one on demand."""

    def __init__(self) -> None:
        self._shm: shared_memory.SharedMemory | None = None

    @property
    def size(self) -> int:
        """Its size in bytes (0 before the first :meth:`reserve`)."""
        return self._shm.size if self._shm is not None else 0

    @property
    def buffer(self) -> Any:
        """Its buffer (after :meth:`reserve`)."""
        assert self._shm is not None
        return self._shm.buf

    def reserve(self, size: int) -> tuple[str, Any]:
        """Return the name and buffer of a block of at least ``size`` bytes."""
        if self._shm is None or self._shm.size < size:
            self.release()
            self._shm = shared_memory.SharedMemory(create=True, size=max(size, _ALIGN))
        return self._shm.name, self._shm.buf

    def release(self) -> None:
        """Unmap and unlink the block (workers that mapped it keep their mapping)."""
        shm, self._shm = self._shm, None
        if shm is not None:
            with suppress(BufferError):  # an array over it is still alive: unlinking suffices
                shm.close()
            shm.unlink()


class Mapped:
    """A worker's mappings of the job's blocks: one per slot and side, mapped once."""

    def __init__(self) -> None:
        self._blocks: dict[Any, shared_memory.SharedMemory] = {}

    def buffer(self, key: Any, name: str) -> Any:
        """Return the buffer of block ``name`` (used as ``key``), mapping it on first use.

        A new name for a ``key`` means the job's process replaced that block: the old one is
        unmapped.
        """
        shm = self._blocks.get(key)
        if shm is None or shm.name != name:
            if shm is not None:
                with suppress(BufferError):  # an array over it is alive: it goes with it
                    shm.close()
            shm = self._blocks[key] = shared_memory.SharedMemory(name=name)
        return shm.buf
