"""``ortsession run MODEL [INPUT...]``: run a model once and summarize (or save) its outputs."""

from __future__ import annotations

import argparse
import math
import os
import time
from typing import Any

import numpy as np

import ortsession as ort
from ortsession._interrupt import on_interrupt

from ._common import (
    HelpFormatter,
    UsageError,
    add_session_arguments,
    format_dims,
    open_session,
    session_options,
)
from ._inputs import add_input_arguments, build_inputs
from ._output import Output

__all__ = ["SCHEMA", "add_parser", "save_npz", "summarize"]

SCHEMA = "ortsession.run/1"
"""The ``schema`` field of ``run --json``; bumped on any incompatible change."""


def add_parser(subparsers: Any) -> None:
    """Register ``run`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "run", help="run a model once on inputs from files, JSON or random values",
        description="Run a model once. Inputs come from .npy/.npz files, JSON, or random values "
                    "with the shapes the model declares; each output is summarized (shape, "
                    "element type, min/max/mean, first values) and can be saved to a .npz.",
        epilog="examples:\n"
               "  ortsession run model.onnx x='[[1, 2]]' bias='[[0.5, -0.5]]'\n"
               "  ortsession run model.onnx x=x.npy bias=bias.npy --save out.npz\n"
               "  ortsession run classifier.onnx --random --dim N=4 --json",
        formatter_class=HelpFormatter)
    add_session_arguments(parser)
    add_input_arguments(parser)
    group = parser.add_argument_group("outputs")
    group.add_argument("--output", dest="output_names", action="append", default=[],
                       metavar="NAME", help="compute only this output; repeatable (default: all)")
    group.add_argument("--save", metavar="FILE.npz",
                       help="save the outputs (and nothing else) to a .npz archive")
    group.add_argument("--show", type=int, default=6, metavar="N",
                       help="how many leading values of each output to print; -1 for all "
                            "(default: 6)")
    group.add_argument("--json", action="store_true",
                       help=f"print one JSON document (schema {SCHEMA!r}, see docs/cli.md)")
    parser.set_defaults(handler=run_run)


# -- summaries ----------------------------------------------------------------------------------
def _stats(arr: np.ndarray[Any, Any], data_type: str) -> tuple[Any, Any, Any]:
    if data_type == "string" or arr.size == 0:
        return None, None, None
    values = arr.astype(np.float64)
    if data_type.startswith("uint") or data_type.startswith("int") or data_type == "bool":
        low, high = values.min(), values.max()
        return int(low), int(high), float(values.mean())
    with np.errstate(all="ignore"):
        return float(values.min()), float(values.max()), float(values.mean())


def _first(arr: np.ndarray[Any, Any], data_type: str, show: int) -> list[Any]:
    flat = arr.reshape(-1)
    head = flat if show < 0 else flat[:show]
    if data_type == "string":
        return [str(v) for v in head]
    if data_type == "bool":
        return [bool(v) for v in head]
    if data_type.startswith(("int", "uint")):
        return [int(v) for v in head.astype(np.int64)]
    return [float(v) for v in head.astype(np.float64)]


def summarize(value: Any, show: int = 6) -> dict[str, Any]:
    """Summarize one run value (a ``Tensor``, a list, a dict or ``None``) as a JSON-able dict.

    See the ``run --json`` schema in ``docs/cli.md``: ``kind`` is ``"tensor"``, ``"sequence"``,
    ``"map"`` or ``"none"`` (an empty optional).
    """
    if value is None:
        return {"kind": "none"}
    if isinstance(value, ort.Tensor):
        arr = value.numpy()
        low, high, mean = _stats(arr, value.data_type)
        return {"kind": "tensor", "data_type": value.data_type, "shape": list(value.shape),
                "min": low, "max": high, "mean": mean,
                "values": _first(arr, value.data_type, show)}
    if isinstance(value, np.ndarray):
        return summarize(ort.Tensor(value), show)
    if isinstance(value, (list, tuple)):
        elements = value if show < 0 else value[: max(show, 0)]
        return {"kind": "sequence", "length": len(value),
                "elements": [summarize(v, show) for v in elements]}
    if isinstance(value, dict):
        items = list(value.items())
        head = items if show < 0 else items[: max(show, 0)]
        return {"kind": "map", "length": len(items), "keys": [_scalar(k) for k, _ in head],
                "values": [_scalar(v) if not isinstance(v, (ort.Tensor, np.ndarray))
                           else summarize(v, show) for _, v in head]}
    return {"kind": "scalar", "value": _scalar(value)}


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def _values_text(values: list[Any], total: int) -> str:
    body = ", ".join(_number(v) if not isinstance(v, str) else repr(v) for v in values)
    more = ", …" if total > len(values) else ""
    return f"[{body}{more}]"


def describe(summary: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """``(type, shape, min, max, mean, first values)`` cells of a summary, as text."""
    kind = summary["kind"]
    if kind == "tensor":
        total = math.prod(summary["shape"])
        return (summary["data_type"], format_dims(summary["shape"], None),
                _number(summary["min"]), _number(summary["max"]), _number(summary["mean"]),
                _values_text(summary["values"], total))
    if kind == "sequence":
        inner = [describe(e) for e in summary["elements"]]
        first = "; ".join(f"{t}{s if s.startswith('[') else ' ' + s} {v}"
                          for t, s, _, _, _, v in inner)
        more = "; …" if summary["length"] > len(inner) else ""
        return ("sequence", f"length {summary['length']}", "-", "-", "-", first + more)
    if kind == "map":
        pairs = ", ".join(f"{k!r}: {_number(v) if not isinstance(v, dict) else describe(v)[5]}"
                          for k, v in zip(summary["keys"], summary["values"]))
        more = ", …" if summary["length"] > len(summary["keys"]) else ""
        return ("map", f"{summary['length']} entries", "-", "-", "-", f"{{{pairs}{more}}}")
    if kind == "none":
        return ("optional", "-", "-", "-", "-", "empty optional")
    return ("scalar", "-", "-", "-", "-", _number(summary.get("value")))


# -- saving -------------------------------------------------------------------------------------
def _storable(tensor: ort.Tensor) -> np.ndarray[Any, Any]:
    """Return the tensor as an array ``numpy.load`` reads back without ``ml_dtypes``.

    bfloat16/float8/float4 become float32, int4/int2 int8, uint4/uint2 uint8, strings ``str``:
    the values are exact.
    """
    arr = tensor.numpy()
    et = tensor.element_type
    if et is ort.ElementType.STRING:
        return arr.astype(str)
    if et.is_native:
        return arr
    if et.is_float:
        return arr.astype(np.float32)
    return arr.astype(np.uint8 if tensor.data_type.startswith("uint") else np.int8)


def _flatten_for_npz(name: str, value: Any, arrays: dict[str, np.ndarray[Any, Any]],
                     skipped: list[str]) -> None:
    if isinstance(value, ort.Tensor):
        arrays[name] = _storable(value)
    elif isinstance(value, np.ndarray):
        arrays[name] = value
    elif isinstance(value, (list, tuple)):
        if not value:
            skipped.append(f"{name} (empty sequence)")
        for i, element in enumerate(value):
            _flatten_for_npz(f"{name}/{i}", element, arrays, skipped)
    elif isinstance(value, dict):
        arrays[f"{name}/keys"] = np.asarray([_scalar(k) for k in value])
        values = list(value.values())
        if all(not isinstance(v, (ort.Tensor, np.ndarray, list, dict)) for v in values):
            arrays[f"{name}/values"] = np.asarray([_scalar(v) for v in values])
        else:
            for i, v in enumerate(values):
                _flatten_for_npz(f"{name}/values/{i}", v, arrays, skipped)
    else:
        skipped.append(f"{name} ({'empty optional' if value is None else type(value).__name__})")


def save_npz(path: str, outputs: ort.Outputs) -> list[str]:
    """Save ``outputs`` to ``path`` with ``numpy.savez``; return what could not be stored.

    A tensor is stored under its output name; a sequence element ``i`` as ``NAME/i``; a map as
    ``NAME/keys`` and ``NAME/values``; empty optionals are skipped (and returned).
    """
    arrays: dict[str, Any] = {}  # (numpy 2's stubs match **kwargs of arrays to allow_pickle)
    skipped: list[str] = []
    for name, value in outputs.items():
        _flatten_for_npz(name, value, arrays, skipped)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"--save {path!r}: directory {directory!r} does not exist")
    try:
        with open(path, "wb") as stream:
            np.savez(stream, **arrays)
    except OSError as exc:
        raise UsageError(f"--save {path!r}: cannot write it: {exc.strerror or exc}") from None
    return skipped


# -- the command --------------------------------------------------------------------------------
def run_run(args: argparse.Namespace, out: Output) -> int:
    """Run ``run``; return the exit status."""
    if args.show < -1:
        raise UsageError(f"--show expects a count >= 0, or -1 for all, got {args.show}")
    with open_session(args.model, session_options(args), out) as session:
        inputs = build_inputs(session, args)
        names = args.output_names or None
        run_options = ort.run_options()
        on_interrupt(run_options.terminate)  # Ctrl-C stops the run at once
        start = time.perf_counter()
        outputs = session.run(inputs, names, run_options)
        elapsed_ms = (time.perf_counter() - start) * 1e3
        providers = session.providers()
        fallback = session.fallback_reason
    skipped = save_npz(args.save, outputs) if args.save else []
    if args.json:
        out.json({
            "schema": SCHEMA,
            "model": os.path.abspath(args.model),
            "providers": providers,
            "fallback_reason": fallback,
            "elapsed_ms": elapsed_ms,
            "inputs": [{"name": n, **_input_summary(v, args.show)} for n, v in inputs.items()],
            "outputs": [{"name": n, **summarize(v, args.show)} for n, v in outputs.items()],
            "saved": os.path.abspath(args.save) if args.save else None,
        })
        return 0
    columns = ["name", "type", "shape", "min", "max", "mean", "values"]
    out.table("Inputs", columns, [[n, *describe(_input_summary(v, args.show))]
                                  for n, v in inputs.items()])
    out.print()
    out.table("Outputs", columns, [[n, *describe(summarize(v, args.show))]
                                   for n, v in outputs.items()])
    out.print()
    out.print(f"ran in {elapsed_ms:.3f} ms on {', '.join(providers)}")
    if args.save:
        out.print(f"saved {len(outputs) - len(skipped)} output(s) to {args.save}")
        for item in skipped:
            out.note(f"not saved: {item}")
    return 0


def _input_summary(value: Any, show: int) -> dict[str, Any]:
    if isinstance(value, (ort.Tensor, np.ndarray, list, tuple, dict)) or value is None:
        return summarize(value, show)
    return {"kind": "scalar", "value": value}
