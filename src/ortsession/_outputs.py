"""Ordered collections indexed both by position and by name (``Outputs`` of runs, memory infos)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from ._errors import NotFoundError

__all__ = ["NamedValues", "Outputs"]

V = TypeVar("V")


class NamedValues(Generic[V]):
    """An immutable ordered collection of named values: ``c[0]``, ``c["y"]``, ``len(c)``.

    Iteration yields the values in order; :meth:`names`/:meth:`keys` give the names.
    """

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, names: tuple[str, ...] | list[str], values: list[V],
                 index: dict[str, int] | None = None) -> None:
        """Build from parallel ``names`` and ``values`` (``index`` maps name → position)."""
        self._names = names
        self._values = values
        self._index = index if index is not None else {n: i for i, n in enumerate(names)}

    def __getitem__(self, key: int | str) -> V:
        if type(key) is str:
            i = self._index.get(key)
            if i is None:
                raise NotFoundError(f"no entry named {key!r}; names: {list(self._names)}")
            return self._values[i]
        if isinstance(key, int) and not isinstance(key, bool):
            try:
                return self._values[key]
            except IndexError:
                raise NotFoundError(f"index {key} out of range for {len(self._values)} "
                                    f"entries (0-based)") from None
        raise NotFoundError(f"key must be a name or an integer index, got {key!r}")

    def get(self, name: str, default: Any = None) -> Any:
        """Return the value named ``name``, or ``default``."""
        i = self._index.get(name)
        return default if i is None else self._values[i]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[V]:
        return iter(self._values)

    def names(self) -> list[str]:
        """Return the names, in order."""
        return list(self._names)

    keys = names

    def values(self) -> list[V]:
        """Return the values, in order."""
        return list(self._values)

    def items(self) -> list[tuple[str, V]]:
        """Return ``(name, value)`` pairs, in order."""
        return list(zip(self._names, self._values))

    def to_dict(self) -> dict[str, V]:
        """Return a ``{name: value}`` dict, in order."""
        return dict(zip(self._names, self._values))

    def __repr__(self) -> str:
        body = ", ".join(f"{n!r}: {v!r}" for n, v in zip(self._names, self._values))
        return f"{type(self).__name__}({{{body}}})"


class Outputs(NamedValues[Any]):
    """The outputs of a run, by position and name: ``outputs[0]``, ``outputs["y"]``.

    Values are ``Tensor``, lists (sequences), dicts (maps) or ``None`` (empty optionals).
    """

    __slots__ = ()
