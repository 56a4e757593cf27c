"""Sinks: where results go, committed in numbered parts so a killed job resumes exactly.

The commit protocol (Parquet folders and ``.npz`` files): results arrive in source order and are
written in *parts*. Committing part ``k`` writes its data file and, if some rows were bad, its
errors file, each under a temporary name then renamed (``os.replace`` is atomic); last, the
manifest ``_manifest.json`` is replaced, recording ``next_part = k + 1`` and ``rows_done`` (every
source row before it is either in a committed part or in a committed errors file). A job killed at
any instant leaves at most files of an uncommitted part; ``resume`` deletes them and restarts
at ``rows_done``, so no row is lost and none is written twice.

Layouts::

    out/                         Parquet folder (read it with pyarrow.parquet.read_table("out"):
      part-000000.parquet          files starting with "_" are skipped by Arrow readers)
      _errors.parquet            row_id, error — one row per bad row (when the job is complete)
      _errors/part-000003.jsonl  errors of each part while the job runs
      _manifest.json             the commit record (complete: true at the end)

    out.npz                      written when the job completes: row_id and one array per output
    out.errors.npz               row_id, error
    out.npz.parts/               the parts and the manifest while the job runs
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ortsession._errors import OptionError, OrtError, StateError

from ._sources import require

__all__ = ["MemorySink", "NpzSink", "ParquetSink", "Sink", "State", "join_rows", "open_sink"]

_MANIFEST = "_manifest.json"
_VERSION = 1


@dataclass
class State:
    """Where a job stands: rows done (a prefix of the source), good and bad rows written."""

    rows_done: int = 0
    ok_rows: int = 0
    error_rows: int = 0
    next_part: int = 0
    complete: bool = False


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, sync it, rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Sink:
    """Base class: receives results in source order; see the module docstring."""

    path: str | None = None
    errors_path: str | None = None

    def start(self, job: Mapping[str, Any], resume: bool, overwrite: bool) -> State:
        """Prepare the output; return the state to continue from (fresh: all zeros)."""
        raise NotImplementedError

    def commit(self, row_ids: np.ndarray[Any, Any], outputs: dict[str, np.ndarray[Any, Any]],
               errors: list[tuple[int, str]], rows_done: int) -> None:
        """Write one part: good rows, bad rows, and the new ``rows_done``."""
        raise NotImplementedError

    def commit_parts(self, row_ids: list[np.ndarray[Any, Any]],
                     outputs: list[dict[str, np.ndarray[Any, Any]]],
                     errors: list[tuple[int, str]], rows_done: int) -> None:
        """:meth:`commit` results given in pieces (joined here, once)."""
        ids = join_rows(row_ids) if row_ids else np.empty(0, dtype=np.int64)
        joined = {n: join_rows([o[n] for o in outputs]) for n in outputs[0]} if outputs else {}
        self.commit(ids, joined, errors, rows_done)

    def finish(self) -> None:
        """Complete the output (errors table, final files)."""


class MemorySink(Sink):
    """Keeps everything in memory; :attr:`outputs` and :attr:`errors` after :meth:`finish`."""

    def __init__(self) -> None:
        self._ids: list[np.ndarray[Any, Any]] = []
        self._parts: list[dict[str, np.ndarray[Any, Any]]] = []
        self.errors: list[tuple[int, str]] = []
        self.outputs: dict[str, np.ndarray[Any, Any]] = {}

    def start(self, job: Mapping[str, Any], resume: bool, overwrite: bool) -> State:
        """Nothing to prepare: a job in memory cannot resume."""
        return State()

    def commit(self, row_ids: np.ndarray[Any, Any], outputs: dict[str, np.ndarray[Any, Any]],
               errors: list[tuple[int, str]], rows_done: int) -> None:
        """Keep the part."""
        if len(row_ids):
            self._ids.append(row_ids)
            self._parts.append(outputs)
        self.errors.extend(errors)

    def commit_parts(self, row_ids: list[np.ndarray[Any, Any]],
                     outputs: list[dict[str, np.ndarray[Any, Any]]],
                     errors: list[tuple[int, str]], rows_done: int) -> None:
        """Keep the pieces as they are: :meth:`finish` joins everything once."""
        self._ids.extend(row_ids)
        self._parts.extend(outputs)
        self.errors.extend(errors)

    def finish(self) -> None:
        """Join the parts: ``outputs`` holds ``row_id`` and one array per output."""
        if not self._parts:
            self.outputs = {"row_id": np.empty(0, dtype=np.int64)}
            return
        self.outputs = {"row_id": join_rows(self._ids)}
        for name in self._parts[0]:
            self.outputs[name] = join_rows([p[name] for p in self._parts])
        self._ids, self._parts = [], []


def join_rows(arrays: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """Concatenate arrays of rows; a single array comes back as it is.

    A job whose output fits in one part is then not copied once more.
    """
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


class _PartsSink(Sink):
    """The commit protocol over a work folder (see the module docstring)."""

    suffix = ""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.state = State()
        self._job: dict[str, Any] = {}

    def _final_paths(self) -> list[Path]:
        return []

    def _write_part(self, path: Path, row_ids: np.ndarray[Any, Any],
                    outputs: dict[str, np.ndarray[Any, Any]]) -> None:
        raise NotImplementedError

    def _assemble(self) -> None:
        raise NotImplementedError

    def _save_manifest(self) -> None:
        document = {"version": _VERSION, "job": self._job, **vars(self.state)}
        text = json.dumps(document, indent=1).encode()
        _atomic_write(self.work / _MANIFEST, lambda f: f.write(text))

    def start(self, job: Mapping[str, Any], resume: bool, overwrite: bool) -> State:
        """Create the work folder, or reopen it to resume (uncommitted files are deleted)."""
        self._job = dict(job)
        manifest = self.work / _MANIFEST
        exists = self.work.exists() or any(p.exists() for p in self._final_paths())
        if exists and overwrite:
            if self.work.is_dir():
                shutil.rmtree(self.work)
            for path in self._final_paths():
                path.unlink(missing_ok=True)
            exists = False
        if exists and not resume:
            raise StateError(f"output {self.path!r} already exists: rerun with resume=True "
                             f"(CLI --resume) to continue it, or overwrite=True (--overwrite)")
        if exists and not manifest.exists():
            if self._final_paths() and all(p.exists() for p in self._final_paths()):
                self.state.complete = True
                return self.state
            raise StateError(f"output {self.path!r} exists but is not a batch job's output (no "
                             f"{_MANIFEST}): choose another output, or overwrite=True")
        if exists:
            return self._reopen(manifest)
        self.work.mkdir(parents=True)
        (self.work / "_errors").mkdir()
        self._save_manifest()
        return self.state

    def _reopen(self, manifest: Path) -> State:
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
            fields = {k: document[k] for k in vars(State())}
        except (OSError, ValueError, KeyError) as exc:
            raise StateError(f"output {self.path!r}: cannot read {_MANIFEST}: {exc}") from None
        old = document.get("job", {})
        for key, value in self._job.items():
            if old.get(key) != value:
                raise StateError(f"output {self.path!r} was written by another job ({key}: "
                                 f"{old.get(key)!r} then, {value!r} now): it cannot be resumed")
        self.state = State(**fields)
        for folder in (self.work, self.work / "_errors"):
            folder.mkdir(exist_ok=True)
            for path in folder.iterdir():
                if path.name.endswith(".tmp") or (
                        path.name.startswith("part-")
                        and int(path.name[5:11]) >= self.state.next_part):
                    path.unlink()
        return self.state

    def commit(self, row_ids: np.ndarray[Any, Any], outputs: dict[str, np.ndarray[Any, Any]],
               errors: list[tuple[int, str]], rows_done: int) -> None:
        """Write the part's files, then the manifest (the commit point)."""
        k = self.state.next_part
        if len(row_ids):
            self._write_part(self.work / f"part-{k:06d}{self.suffix}", row_ids, outputs)
        if errors:
            text = "".join(json.dumps({"row_id": int(r), "error": m}) + "\n" for r, m in errors)
            _atomic_write(self.work / "_errors" / f"part-{k:06d}.jsonl",
                          lambda f: f.write(text.encode()))
        self.state.next_part = k + 1
        self.state.rows_done = rows_done
        self.state.ok_rows += len(row_ids)
        self.state.error_rows += len(errors)
        self._save_manifest()

    def _errors(self) -> tuple[np.ndarray[Any, Any], list[str]]:
        ids: list[int] = []
        messages: list[str] = []
        folder = self.work / "_errors"
        for path in sorted(folder.glob("part-*.jsonl")) if folder.is_dir() else []:
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                ids.append(record["row_id"])
                messages.append(record["error"])
        return np.asarray(ids, dtype=np.int64), messages

    def _parts(self) -> list[Path]:
        return sorted(self.work.glob(f"part-*{self.suffix}"))

    def finish(self) -> None:
        """Write the final files and mark the job complete."""
        if self.state.complete:
            return
        self._assemble()
        self.state.complete = True
        self._save_manifest()


class ParquetSink(_PartsSink):
    """A folder of Parquet files: ``row_id`` (int64) and one column per output.

    Scalars are plain columns, tensors Arrow's fixed-shape tensor type.
    """

    suffix = ".parquet"

    def __init__(self, path: str) -> None:
        require("pyarrow.parquet", "batch")
        super().__init__(Path(path))
        self.path = path
        self.errors_path = str(Path(path) / "_errors.parquet")

    def _write_part(self, path: Path, row_ids: np.ndarray[Any, Any],
                    outputs: dict[str, np.ndarray[Any, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: dict[str, Any] = {"row_id": pa.array(row_ids, type=pa.int64())}
        for name, array in outputs.items():
            try:
                if array.ndim == 1:
                    columns[name] = pa.array(array)
                else:
                    columns[name] = pa.FixedShapeTensorArray.from_numpy_ndarray(
                        np.ascontiguousarray(array))
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise OrtError(f"output {name!r} ({array.dtype}) cannot be written to Parquet: "
                               f"{exc}; write to .npz instead") from None
        table = pa.table(columns)
        _atomic_write(path, lambda f: pq.write_table(table, f))

    def _assemble(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        ids, messages = self._errors()
        table = pa.table({"row_id": pa.array(ids, type=pa.int64()),
                          "error": pa.array(messages, type=pa.string())})
        _atomic_write(Path(str(self.errors_path)), lambda f: pq.write_table(table, f))
        shutil.rmtree(self.work / "_errors", ignore_errors=True)


def _write_npy_entry(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...], dtype: np.dtype[Any],
                     pieces: Any) -> None:
    """Write one ``.npy`` member piece by piece (the header first, from the known shape)."""
    with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
        npy: Any = np.lib.format  # untyped in numpy 1.26
        header = {"descr": npy.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
        npy.write_array_header_2_0(member, header)
        for piece in pieces:
            member.write(np.ascontiguousarray(piece, dtype=dtype).tobytes())


class NpzSink(_PartsSink):
    """A ``.npz`` file: ``row_id`` and one array per output, rows first.

    Bad rows go to ``<name>.errors.npz``. Assembled from the parts one array at a time when the
    job completes.
    """

    suffix = ".npz"

    def __init__(self, path: str) -> None:
        super().__init__(Path(path + ".parts"))
        self.path = path
        self.errors_path = str(Path(path).with_suffix("")) + ".errors.npz"

    def _final_paths(self) -> list[Path]:
        return [Path(str(self.path)), Path(str(self.errors_path))]

    def _write_part(self, path: Path, row_ids: np.ndarray[Any, Any],
                    outputs: dict[str, np.ndarray[Any, Any]]) -> None:
        arrays: dict[str, Any] = {"row_id": row_ids}
        for name, array in outputs.items():
            arrays[name] = array.astype(str) if array.dtype == object else array
        _atomic_write(path, lambda f: np.savez(f, **arrays))

    def _assemble(self) -> None:
        parts = self._parts()
        names: list[str] = ["row_id"]
        meta: dict[str, tuple[tuple[int, ...], list[np.dtype[Any]]]] = {}
        for path in parts:
            with np.load(path) as npz:
                for name in npz.files:
                    if name not in names:
                        names.append(name)
                    array = npz[name]
                    rows, dtypes = meta.get(name, ((0, *array.shape[1:]), []))
                    meta[name] = ((rows[0] + len(array), *rows[1:]), [*dtypes, array.dtype])

        def pieces(name: str) -> Any:
            for path in parts:
                with np.load(path) as npz:
                    yield npz[name]

        def write(f: BinaryIO) -> None:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                if not parts:
                    _write_npy_entry(zf, "row_id", (0,), np.dtype(np.int64), [])
                for name in names if parts else []:
                    shape, dtypes = meta[name]
                    _write_npy_entry(zf, name, shape, np.result_type(*dtypes), pieces(name))

        _atomic_write(Path(str(self.path)), write)
        ids, messages = self._errors()
        _atomic_write(Path(str(self.errors_path)),
                      lambda f: np.savez(f, row_id=ids, error=np.asarray(messages, dtype=str)))
        shutil.rmtree(self.work)

    def finish(self) -> None:
        """Write ``.npz`` and ``.errors.npz``, then remove the parts folder."""
        if not self.state.complete:
            self._assemble()
            self.state.complete = True


def open_sink(sink: Any) -> Sink:
    """Return the :class:`Sink` for ``sink``.

    ``None`` (memory), a path ending ``.npz``, or any other path (a Parquet folder).
    """
    if sink is None:
        return MemorySink()
    if isinstance(sink, Sink):
        return sink
    if not isinstance(sink, (str, os.PathLike)):
        raise OptionError(f"sink: expected a path or None (in memory), got {type(sink).__name__}")
    path = os.fspath(sink)
    if path.lower().endswith(".npz"):
        return NpzSink(path)
    return ParquetSink(path)
