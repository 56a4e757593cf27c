"""Model inputs from the command line: ``.npy``/``.npz`` files, JSON, or random values.

Shared by ``run`` and ``bench``. Tensor inputs are converted once, up front, to
:class:`ortsession.Tensor` of the element type the model declares, by ``ortsession.tensor`` (which
checks that every value fits, with the library's messages), so a float64 ``.npy`` feeds a float32
input and JSON numbers feed any numeric input. Sequences, maps and optionals are passed to
``Session.run`` as the JSON gives them.
"""

from __future__ import annotations

import argparse
import difflib
import glob
import importlib
import json
import math
import os
import re
import zipfile
from collections.abc import Iterable
from typing import Any

import numpy as np

import ortsession as ort
from ortsession._types import element_type

from ._common import UsageError, json_text, load_json_file, parse_key_value, regular_file

__all__ = ["add_input_arguments", "build_inputs", "parse_dims"]

_STRINGS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def add_input_arguments(parser: argparse.ArgumentParser, *, bench: bool = False) -> None:
    """Add the input arguments to ``parser``.

    ``INPUT...``, ``--input-json``, ``--random``, ``--dim`` and ``--seed``.
    """
    group = parser.add_argument_group("inputs")
    group.add_argument(
        "inputs", nargs="*", metavar="INPUT",
        help="NAME=FILE.npy, NAME=FILE.pb, NAME=JSON (e.g. x='[[1, 2]]'), FILE.npz / "
             "FILE.json holding several inputs by name, or a FOLDER of input_0.pb, input_1.pb…")
    group.add_argument("--input-json", metavar="FILE.json", action="append", default=[],
                       help="a JSON object {\"input name\": value, ...}; repeatable")
    group.add_argument(
        "--random", action="store_true",
        help="generate every input not given otherwise, with the shapes the model declares"
             + (" (the default when no input is given)" if bench else ""))
    group.add_argument(
        "--dim", action="append", default=[], metavar="NAME=SIZE",
        help="size of the symbolic dimension NAME for --random (e.g. --dim N=4), or of an "
             "unnamed one given as INPUT:AXIS (e.g. --dim x:1=16000, axis from 0); free "
             "dimensions not set are 1; repeatable")
    group.add_argument("--seed", type=int, default=0,
                       help="seed of the random inputs (default: 0)")


MAX_DIM = 2**63 - 1
"""Largest dimension ONNX can describe (``int64``)."""


def parse_dims(items: Iterable[str]) -> dict[str, int]:
    """Parse ``--dim NAME=SIZE`` items; :class:`UsageError` for a malformed one."""
    dims: dict[str, int] = {}
    for item in items:
        name, value = parse_key_value(item, "--dim")
        try:
            size = int(value)
        except ValueError:
            raise UsageError(f"--dim expects NAME=SIZE with SIZE a non-negative integer, "
                             f"got {item!r}") from None
        if not 0 <= size <= MAX_DIM:
            raise UsageError(f"--dim {name}: the size must be from 0 to {MAX_DIM}, got {size}")
        dims[name] = size
    return dims


def _axis_key(item: str) -> tuple[str, int] | None:
    """``"x:1"`` → ``("x", 1)``; ``None`` for a dimension name."""
    name, sep, axis = item.rpartition(":")
    if not sep or not axis.isdigit():
        return None
    return name, int(axis)


def _check_axis(item: str, key: tuple[str, int], infos: dict[str, ort.TypeInfo]) -> None:
    """Check ``--dim INPUT:AXIS``: the input exists and that axis is a free dimension."""
    name, axis = key
    info = infos.get(name)
    if info is None:
        raise UsageError(f"--dim {item}: the model has no input {name!r} (inputs: "
                         f"{', '.join(infos) or 'none'})")
    shape = info.shape or ()
    if axis >= len(shape):
        raise UsageError(f"--dim {item}: input {name!r} has {len(shape)} axes (0 to "
                         f"{len(shape) - 1})")
    if shape[axis] >= 0:
        raise UsageError(f"--dim {item}: axis {axis} of input {name!r} is fixed to "
                         f"{shape[axis]}")


def _infos(session: ort.Session) -> dict[str, ort.TypeInfo]:
    names = session.input_names() + session.overridable_initializer_names()
    infos = {n: session.input_info(n) for n in session.input_names()}
    for n in session.overridable_initializer_names():
        infos[n] = session.overridable_initializer_info(n)
    return {n: infos[n] for n in names}


def _unknown(name: str, infos: dict[str, ort.TypeInfo], source: str) -> ort.InputError:
    close = difflib.get_close_matches(name, list(infos), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = f"{source}: " if source else ""
    return ort.InputError(f"{where}unknown input {name!r}{hint}; the model's inputs are "
                          f"{', '.join(infos) or 'none'}")


def _load_npy(path: str, what: str) -> np.ndarray[Any, Any]:
    regular_file(path, what)
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"{what}: no such file {path!r}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise UsageError(f"{what}: {path!r} is not a readable .npy file: {exc}") from None
    except MemoryError:
        raise UsageError(f"{what}: {path!r} is too big to load into memory") from None
    if not isinstance(arr, np.ndarray):
        raise UsageError(f"{what}: {path!r} is a .npz archive; give it without NAME=")
    return arr


def _load_npz(path: str) -> dict[str, np.ndarray[Any, Any]]:
    regular_file(path, "input file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except FileNotFoundError:
        raise UsageError(f"input file {path!r}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"input file {path!r} is not a readable .npz archive: {exc}") from None
    except MemoryError:
        raise UsageError(f"input file {path!r} is too big to load into memory") from None
    except AttributeError:  # np.load returned a plain array: it was a .npy file
        raise UsageError(f"input file {path!r} is a .npy array; give it as NAME={path}") from None


def _onnx() -> Any:
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise UsageError("reading .pb files needs the onnx package: pip install onnx") from None


def _load_pb(path: str, info: ort.TypeInfo | None, what: str) -> Any:
    """Read an ONNX protobuf value, as the onnx backend test data stores them.

    A ``TensorProto``, or a ``SequenceProto``/``MapProto``/``OptionalProto`` for inputs of those
    kinds.
    """
    onnx = _onnx()
    helper = importlib.import_module("onnx.numpy_helper")
    kind = info.onnx_type if info is not None else "tensor"
    proto_class, convert = {
        "sequence": (onnx.SequenceProto, helper.to_list),
        "map": (onnx.MapProto, helper.to_dict),
        "optional": (onnx.OptionalProto, helper.to_optional),
    }.get(kind, (onnx.TensorProto, helper.to_array))
    regular_file(path, what)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {path!r}: {exc.strerror or exc}") from None
    proto = proto_class()  # onnx's classes: generated protobuf messages
    try:
        proto.ParseFromString(data)
        return convert(proto)
    except Exception as exc:  # protobuf's DecodeError, or onnx's conversion errors
        raise UsageError(f"{what}: {path!r} is not a valid {proto_class.__name__}: "
                         f"{exc}") from None


def _pb_folder(path: str, infos: dict[str, ort.TypeInfo],
               input_names: list[str]) -> list[tuple[str, Any, str]]:
    """Read ``input_0.pb``, ``input_1.pb``… of a folder, in model input order.

    That is the layout of the onnx backend test data's ``test_data_set_*`` folders.
    """
    files = sorted(glob.glob(os.path.join(path, "input_*.pb")),
                   key=lambda f: int(re.sub(r"\D", "", os.path.basename(f)) or 0))
    if not files:
        raise UsageError(f"input folder {path!r} holds no input_*.pb file")
    if len(files) > len(input_names):
        raise ort.InputError(f"input folder {path!r} holds {len(files)} input_*.pb files, the "
                             f"model takes {len(input_names)} input(s)")
    return [(name, _load_pb(file, infos[name], f"input {name!r}"), file)
            for name, file in zip(input_names, files)]


def _json_object(path: str, flag: str) -> dict[str, Any]:
    loaded = load_json_file(path, flag)
    if not isinstance(loaded, dict):
        raise UsageError(f"{flag} {path!r}: expected a JSON object {{\"input name\": value, ...}}, "
                         f"got {type(loaded).__name__}")
    return loaded


def _raw_inputs(args: argparse.Namespace, infos: dict[str, ort.TypeInfo],
                input_names: list[str]) -> list[tuple[str, Any, str]]:
    """``(name, value, where it came from)`` for every input given on the command line."""
    given: list[tuple[str, Any, str]] = []
    for item in args.inputs:
        if "=" not in item:
            lower = item.lower()
            if os.path.isdir(item):
                given += _pb_folder(item, infos, input_names)
            elif lower.endswith(".npz"):
                given += [(k, v, f"{item}[{k}]") for k, v in _load_npz(item).items()]
            elif lower.endswith(".json"):
                given += [(k, v, f"{item}[{k}]") for k, v in _json_object(item, "input").items()]
            else:
                raise UsageError(f"input {item!r}: expected NAME=FILE.npy, NAME=JSON, FILE.npz, "
                                 f"FILE.json or a folder of input_*.pb files")
            continue
        name, text = parse_key_value(item, "input")
        if text.lower().endswith(".npy"):
            given.append((name, _load_npy(text, f"input {name!r}"), text))
        elif text.lower().endswith(".pb"):
            given.append((name, _load_pb(text, infos.get(name), f"input {name!r}"), text))
        elif text.lower().endswith(".json") and os.path.isfile(text):
            given.append((name, load_json_file(text, f"input {name!r}"), text))
        elif text.lower().endswith(".npz"):
            arrays = _load_npz(text)
            if name in arrays:
                given.append((name, arrays[name], f"{text}[{name}]"))
            elif len(arrays) == 1:
                given.append((name, next(iter(arrays.values())), text))
            else:
                raise UsageError(f"input {name!r}: {text!r} holds {', '.join(arrays) or 'no'} "
                                 f"arrays, none named {name!r}")
        else:
            given.append((name, _json_value(name, text), ""))
    for path in args.input_json:
        given += [(k, v, f"{path}[{k}]") for k, v in _json_object(path, "--input-json").items()]
    return given


def _json_value(name: str, text: str) -> Any:
    """Parse ``NAME=TEXT``: JSON when valid, else the text itself (a string input)."""
    if not text.lstrip().startswith(("[", "{", '"')):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return json_text(text, f"input {name!r}", quote=len(text) <= 80)


def _to_tensor(info: ort.TypeInfo, value: Any, name: str) -> Any:
    """Convert an array or JSON value to a tensor of the declared element type.

    The conversion is the library's (``ortsession.tensor``): every value is checked to fit, and
    a ragged, too deep or mixed JSON list gets its message. A JSON list's shape is the one
    numpy reads from it, as the library reads lists.
    """
    data_type = info.data_type
    if data_type is None:
        return value
    if isinstance(value, np.ndarray):
        arr = value
        if arr.dtype.kind == "U" and data_type == "string":
            return ort.tensor("string", arr.shape, arr.astype(object))
        return ort.tensor(data_type, arr.shape, arr)
    if isinstance(value, dict):
        raise ort.InputError(f"input {name!r}: expected a tensor ({data_type}), got a JSON "
                             f"object")
    try:
        shape = np.shape(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        shape = ()  # not a regular array: ortsession.tensor says why
    return ort.tensor(data_type, shape, value)


def _convert(info: ort.TypeInfo, value: Any, name: str) -> Any:
    if info.onnx_type == "tensor":
        return _to_tensor(info, value, name)
    if info.onnx_type == "optional" and info.element is not None and value is not None \
            and info.element.onnx_type == "tensor":
        return _to_tensor(info.element, value, name)
    if info.onnx_type == "map" and isinstance(value, dict):
        return _map_keys(info, value, name)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _map_keys(info: ort.TypeInfo, value: dict[Any, Any], name: str) -> dict[Any, Any]:
    """JSON object keys are strings: turn them into integers for an integer-keyed map."""
    if not (info.key_type or "").startswith(("int", "uint")):
        return value
    converted: dict[Any, Any] = {}
    for key, item in value.items():
        try:
            converted[int(key)] = item
        except (TypeError, ValueError):
            raise ort.InputError(f"input {name!r}: map keys must be {info.key_type} integers, "
                                 f"got {key!r}") from None
    return converted


def _memory_bytes() -> int:
    """Physical memory of the machine, in bytes (0 when unknown)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


def _random_tensor(info: ort.TypeInfo, dims: dict[str, int], rng: np.random.Generator,
                   name: str) -> ort.Tensor:
    symbols = info.symbolic_shape or ("",) * len(info.shape or ())
    shape = tuple(d if d >= 0 else dims.get(s, dims.get(f"{name}:{axis}", 1))
                  for axis, (d, s) in enumerate(zip(info.shape or (), symbols)))
    data_type = info.data_type or ""
    count = math.prod(shape)
    # the generator's float64/int64 values, then the tensor itself
    need = count * (8 + (element_type(data_type).dtype.itemsize if data_type else 8))
    memory = _memory_bytes()
    if memory and need > memory:
        raise ort.InputError(f"input {name!r}: --random shape {list(shape)} ({count:,} "
                             f"elements) needs about {need / 2**30:,.1f} GiB, more than this "
                             f"machine's {memory / 2**30:,.1f} GiB; give smaller --dim sizes")
    try:
        return _random_values(data_type, shape, count, rng, name)
    except MemoryError:
        raise ort.InputError(f"input {name!r}: not enough memory for --random shape "
                             f"{list(shape)} ({count:,} elements)") from None


def _random_values(data_type: str, shape: tuple[int, ...], count: int,
                   rng: np.random.Generator, name: str) -> ort.Tensor:
    if data_type == "string":
        words = rng.choice(np.array(_STRINGS, dtype=object), size=count)
        return ort.tensor("string", shape, list(words))
    if data_type == "bool":
        return ort.tensor("bool", shape, rng.integers(0, 2, size=shape).astype(bool))
    if data_type.startswith(("float", "bfloat")):
        return ort.tensor(data_type, shape, rng.random(size=shape, dtype=np.float32))
    if data_type.startswith(("int", "uint")):
        # small non-negative values (valid sizes, indices and counts for most models), within
        # the declared element type's range: 0..9, or less for the 2- and 4-bit types
        high = min(10, _integer_max(data_type) + 1)
        return ort.tensor(data_type, shape, rng.integers(0, high, size=shape))
    raise ort.InputError(f"input {name!r}: cannot generate random {data_type} values; "
                         f"give the input explicitly")


def build_inputs(session: ort.Session, args: argparse.Namespace, *,
                 random_default: bool = False) -> dict[str, Any]:
    """Collect the run inputs described by ``args`` (see :func:`add_input_arguments`).

    Args:
        session: the session the inputs are for (names, types and shapes come from it).
        args: parsed arguments.
        random_default: generate random inputs when none is given at all (``bench``).

    Returns:
        ``{input name: Tensor or JSON value}`` in model order.

    Raises:
        UsageError: a file cannot be read, JSON is invalid, ``--dim`` is malformed or names no
            dimension of the model.
        ortsession.InputError: unknown input name, ragged lists, a missing required input, or
            a value that does not fit the declared type (``ortsession.TensorError``).
    """
    infos = _infos(session)
    dims = parse_dims(args.dim)
    symbols = {s for info in infos.values() for s in (info.symbolic_shape or ()) if s}
    for name in dims:
        axis_key = _axis_key(name)
        if axis_key is not None:
            _check_axis(name, axis_key, infos)
        elif name not in symbols:
            known = ", ".join(sorted(symbols)) or "none"
            raise UsageError(f"--dim {name}: no input has a dimension named {name!r} (named "
                             f"dimensions: {known}; give an unnamed one as INPUT:AXIS)")
    given: dict[str, Any] = {}
    for name, value, source in _raw_inputs(args, infos, session.input_names()):
        if name not in infos:
            raise _unknown(name, infos, source)
        try:
            given[name] = _convert(infos[name], value, name)
        except (ort.TensorError, ort.ElementTypeError) as exc:
            where = f" (from {source})" if source else ""
            raise ort.InputError(f"input {name!r}{where}: {exc}") from None
    random = args.random or (random_default and not given)
    rng = np.random.default_rng(args.seed)
    missing = []
    for name in session.input_names():
        if name in given:
            continue
        info = infos[name]
        if info.onnx_type == "optional":
            continue
        if random and info.onnx_type == "tensor":
            given[name] = _random_tensor(info, dims, rng, name)
        elif random:
            raise ort.InputError(f"input {name!r} is a {info.type}: --random makes tensors only; "
                                 f"give it as {name}=JSON")
        else:
            missing.append(name)
    if missing:
        raise ort.InputError(f"missing input(s) {', '.join(map(repr, missing))}: give "
                             f"NAME=FILE.npy, NAME=JSON, a .npz, --input-json, or use --random")
    return {name: given[name] for name in infos if name in given}


def _integer_max(data_type: str) -> int:
    """Return the largest value of an integer element type (``int4`` → 7)."""
    dtype = element_type(data_type).dtype
    try:
        return int(np.iinfo(dtype).max)
    except ValueError:  # the 2- and 4-bit types are ml_dtypes'
        import ml_dtypes

        return int(ml_dtypes.iinfo(dtype).max)  # type: ignore[no-untyped-call]
