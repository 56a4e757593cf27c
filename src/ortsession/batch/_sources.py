"""Data sources: where rows come from, read in chunks so memory stays flat.

Every source has named ``columns``, a row count (``total``), a ``description`` (recorded in the
job's manifest, so a resumed job is known to read the same data), and two ways to read:

* :meth:`Source.chunks` streams the rows from a position onwards (the local engine);
* :meth:`Source.splits` cuts the rows into independent pieces that :meth:`Source.read` reads
  anywhere — in a Ray actor on another node, from shared storage (the ray engine).

A row's id is its position in the source (0-based; Parquet folders and image folders in sorted
file order). Heavy readers (pyarrow, Pillow) are imported only by the sources that need them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._images import IMAGE_SUFFIXES
from ._plan import SourceError
from ._rows import Chunk

__all__ = ["Source", "Split", "open_source", "require"]

_PARQUET_SUFFIXES = (".parquet", ".pq")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")


def require(module: str, extra: str) -> Any:
    """Import ``module``; a missing one is a :class:`SourceError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SourceError(f"{module} is needed for this; install it with "
                          f"pip install 'ortsession[{extra}]'") from None


@dataclass(frozen=True)
class Split:
    """Rows ``start`` to ``start + count - 1`` of a source; ``where`` locates them in it."""

    start: int
    count: int
    where: Any = None


class Source:
    """Base class of the sources; see the module docstring."""

    description: str = ""
    columns: list[str]
    total: int
    kind: str = "values"
    image_column: str | None = None

    def splits(self, start: int, rows: int) -> list[Split]:
        """Cut rows ``start`` to the end into pieces of about ``rows`` rows or more."""
        return [Split(s, min(rows, self.total - s)) for s in range(start, self.total, rows)]

    def read(self, split: Split, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Read the rows of ``split`` in chunks of at most ``rows`` rows, only ``columns``."""
        raise NotImplementedError

    def chunks(self, start: int, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Every row from ``start`` onwards, in chunks of at most ``rows`` rows."""
        for split in self.splits(start, rows):
            yield from self.read(split, rows, columns)


def _column_array(values: Any) -> np.ndarray[Any, Any]:
    """Return ``values`` as an array, rows first; rows of different shapes as objects."""
    try:
        return np.asarray(values)
    except ValueError:  # ragged: keep one object per row, checked row by row in the worker
        column = np.empty(len(values), dtype=object)
        for i, row in enumerate(values):
            column[i] = row
        return column


def _row_slice(array: np.ndarray[Any, Any], at: int, n: int) -> np.ndarray[Any, Any]:
    """Rows ``at`` to ``at + n`` of ``array``: a view, unless copying makes it contiguous."""
    return np.ascontiguousarray(array[at:at + n])


class ArraysSource(Source):
    """Arrays in memory (one per column, rows first), or ``.npy``/``.npz`` files.

    A ``.npy`` file is memory-mapped; ``.npz`` members are loaded when first read.
    """

    def __init__(self, arrays: Mapping[str, Any] | None = None, path: str | None = None) -> None:
        self._path = path
        self._arrays: dict[str, Any] | None = None
        if arrays is not None:
            self._arrays = {str(k): _column_array(v) for k, v in arrays.items()}
            self.description = "arrays in memory"
        else:
            self.description = f"arrays file {path}"
        loaded = self.arrays
        if not loaded:
            raise SourceError(f"{self.description}: no arrays")
        lengths = {}
        for name, array in loaded.items():
            if array.ndim == 0:
                raise SourceError(f"{self.description}: array {name!r} is a scalar; expected one "
                                  f"row per element of its first dimension")
            lengths[name] = len(array)
        if len(set(lengths.values())) != 1:
            raise SourceError(f"{self.description}: the arrays have different lengths "
                              f"({', '.join(f'{k}: {v}' for k, v in lengths.items())})")
        self.columns = list(loaded)
        self.total = next(iter(lengths.values()))

    @property
    def arrays(self) -> dict[str, Any]:
        """The column arrays (a ``.npy`` file is memory-mapped)."""
        if self._arrays is None:
            path = str(self._path)
            try:
                if path.endswith(".npy"):
                    self._arrays = {Path(path).stem: np.load(path, mmap_mode="r")}
                else:
                    with np.load(path) as npz:
                        self._arrays = {k: npz[k] for k in npz.files}
            except (OSError, ValueError) as exc:
                raise SourceError(f"input {path!r}: cannot read it: {exc}") from None
        return self._arrays

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._path is not None:
            state["_arrays"] = None  # each process maps the file itself
        return state

    def read(self, split: Split, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Read slices of the arrays: views (plain ndarrays over a memory map too)."""
        arrays = self.arrays
        for at in range(split.start, split.start + split.count, rows):
            n = min(rows, split.start + split.count - at)
            yield Chunk(at, n, {c: _row_slice(arrays[c], at, n) for c in columns})


def _arrow_values(column: Any) -> Any:
    """Return an Arrow column as an array with rows first, or a list of per-row values."""
    import pyarrow as pa

    rows = len(column)
    if column.null_count:
        return column.to_pylist()
    if isinstance(column.type, pa.FixedShapeTensorType):
        return column.to_numpy_ndarray()
    if isinstance(column, pa.ExtensionArray):
        column = column.storage
    shape: list[int] = []
    flat = column
    while pa.types.is_fixed_size_list(flat.type):
        shape.append(flat.type.list_size)
        flat = flat.flatten()
    if (pa.types.is_integer(flat.type) or pa.types.is_floating(flat.type)
            or pa.types.is_boolean(flat.type)) and not flat.null_count:
        return flat.to_numpy(zero_copy_only=False).reshape(rows, *shape)
    return column.to_pylist()


class ParquetSource(Source):
    """A Parquet file, or a folder of them, read by row groups in record batches.

    Files are taken in sorted path order; names starting ``_`` or ``.`` are skipped. Tensor
    columns may be fixed-size lists (nested for more dimensions), Arrow's fixed-shape tensor
    type, or variable lists.
    """

    def __init__(self, paths: list[str], description: str) -> None:
        pq = require("pyarrow.parquet", "batch")
        self.paths = paths
        self.description = description
        self.groups: list[list[int]] = []
        self.total = 0
        try:
            schema = pq.read_schema(paths[0])
            for path in paths:
                meta = pq.read_metadata(path)
                self.groups.append([meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
                self.total += meta.num_rows
        except (OSError, ValueError) as exc:
            raise SourceError(f"{description}: cannot read it as Parquet: {exc}") from None
        self.columns = list(schema.names)

    def splits(self, start: int, rows: int) -> list[Split]:
        """Make one split per row group (after the rows before ``start``)."""
        out = []
        at = 0
        for f, groups in enumerate(self.groups):
            for g, n in enumerate(groups):
                if at + n > start:
                    skip = max(0, start - at)
                    out.append(Split(at + skip, n - skip, (f, g, skip)))
                at += n
        return out

    def read(self, split: Split, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Read the split's row group in record batches of ``rows`` rows."""
        import pyarrow.parquet as pq

        f, g, skip = split.where
        at = split.start - skip
        with pq.ParquetFile(self.paths[f]) as handle:
            for batch in handle.iter_batches(batch_size=rows, row_groups=[g], columns=columns):
                n = batch.num_rows
                if at + n <= split.start:
                    at += n
                    continue
                cut = max(0, split.start - at)
                part = batch.slice(cut) if cut else batch
                at += cut
                yield Chunk(at, part.num_rows,
                            {c: _arrow_values(part.column(c)) for c in columns})
                at += part.num_rows


class JsonLinesSource(Source):
    """A JSON Lines file: one JSON object per line, a field per column.

    Tensors are nested lists. Lines are parsed in the workers; a line that is not a JSON object
    is a bad row.
    """

    kind = "jsonl"

    def __init__(self, path: str) -> None:
        import json

        self.path = path
        self.description = f"JSON Lines file {path}"
        self.columns = []
        self.total = 0
        try:
            with open(path, "rb") as f:
                for line in f:
                    if not self.columns and line.strip():
                        try:
                            record = json.loads(line)
                        except ValueError:
                            record = None
                        if isinstance(record, dict):
                            self.columns = [str(k) for k in record]
                    self.total += 1
        except OSError as exc:
            raise SourceError(f"input {path!r}: cannot read it: {exc.strerror or exc}") from None
        if not self.columns:
            raise SourceError(f"input {path!r}: no line holds a JSON object")

    def splits(self, start: int, rows: int) -> list[Split]:
        """Cut the lines into pieces of ``rows``, located by byte offset (one pass)."""
        out = []
        with open(self.path, "rb") as f:
            line = 0
            while line < self.total:
                if line >= start and (line - start) % rows == 0:
                    out.append(Split(line, min(rows, self.total - line), f.tell()))
                f.readline()
                line += 1
        return out

    def read(self, split: Split, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Read the split's raw lines (the worker parses them)."""
        with open(self.path, "rb") as f:
            f.seek(split.where)
            lines = [f.readline() for _ in range(split.count)]
        yield Chunk(split.start, split.count, {"lines": lines}, kind="jsonl")

    def chunks(self, start: int, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Stream the lines from ``start`` onwards without a first pass."""
        with open(self.path, "rb") as f:
            at = 0
            lines: list[bytes] = []
            for line in f:
                if at >= start:
                    lines.append(line)
                    if len(lines) == rows:
                        yield Chunk(at - rows + 1, rows, {"lines": lines}, kind="jsonl")
                        lines = []
                at += 1
            if lines:
                yield Chunk(at - len(lines), len(lines), {"lines": lines}, kind="jsonl")


class ImageFolderSource(Source):
    """Every image file under a folder (sorted by relative path), one row each.

    The column is ``image``; files are decoded and preprocessed in the workers (see
    ``_images.read_image``).
    """

    kind = "images"
    image_column = "image"

    def __init__(self, root: str, paths: list[str]) -> None:
        self.root = root
        self.paths = paths
        self.description = f"image folder {root} ({len(paths)} files)"
        self.columns = ["image"]
        self.total = len(paths)

    def read(self, split: Split, rows: int, columns: list[str]) -> Iterator[Chunk]:
        """Read the split's file paths (the worker decodes them)."""
        for at in range(split.start, split.start + split.count, rows):
            n = min(rows, split.start + split.count - at)
            yield Chunk(at, n, {"image": self.paths[at:at + n]}, kind="images")


def _files(root: Path, suffixes: tuple[str, ...] | frozenset[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(p.startswith(("_", ".")) for p in parts):
            continue
        if path.is_file() and path.suffix.lower() in suffixes:
            found.append(path)
    return [str(p) for p in sorted(found, key=lambda p: p.relative_to(root).as_posix())]


def open_source(source: Any) -> Source:
    """Return the :class:`Source` for ``source``.

    A dict of arrays, an array, or a path (``.npy``, ``.npz``, ``.parquet``, ``.jsonl``, or a
    folder of Parquet files or images).

    Raises:
        SourceError: the path does not exist, or is of no kind the batch module reads.
    """
    if isinstance(source, Source):
        return source
    if isinstance(source, Mapping):
        return ArraysSource(source)
    if isinstance(source, np.ndarray):
        return ArraysSource({"array": source})
    if not isinstance(source, (str, os.PathLike)):
        raise SourceError(f"source: expected a path, a dict of arrays or an array, got "
                          f"{type(source).__name__}")
    path = Path(source)
    if path.is_dir():
        parquet = _files(path, _PARQUET_SUFFIXES)
        if parquet:
            return ParquetSource(parquet, f"Parquet folder {path} ({len(parquet)} files)")
        images = _files(path, IMAGE_SUFFIXES)
        if images:
            return ImageFolderSource(str(path), images)
        raise SourceError(f"input folder {str(path)!r} holds no Parquet files and no images "
                          f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    if not path.exists():
        raise SourceError(f"input {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return ArraysSource(path=str(path))
    if suffix in _PARQUET_SUFFIXES:
        return ParquetSource([str(path)], f"Parquet file {path}")
    if suffix in _JSONL_SUFFIXES:
        return JsonLinesSource(str(path))
    raise SourceError(f"input {str(path)!r}: unknown kind of file; expected .npy, .npz, "
                      f".parquet, .jsonl/.ndjson, or a folder of Parquet files or images")
