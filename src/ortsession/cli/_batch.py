"""``ortsession batch MODEL --input PATH --output PATH``: a dataset through a model.

The command form of :func:`ortsession.batch.predict`: the same sources, sinks, engines and
session options (``-O KEY=VALUE`` / ``--options FILE.json``). A progress bar on a terminal (not
when piped, nor with ``-q``), then a summary. Bad rows go to the errors table next to the output;
Ctrl-C stops with exit status 130 after committing what was done, and ``--resume`` continues.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Final

import ortsession as ort

from ._common import (
    HelpFormatter,
    UsageError,
    add_session_arguments,
    json_or_string,
    parse_key_value,
    session_options,
)
from ._output import Output

__all__ = ["SCHEMA", "add_parser"]

SCHEMA: Final = "ortsession.batch/1"
"""The ``schema`` field of ``batch --json``; bumped on any incompatible change."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def add_parser(subparsers: Any) -> None:
    """Register ``batch`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "batch", help="run a dataset (Parquet, .npy/.npz, JSON Lines, images) through a model",
        description="Run every row of --input through the model and write the outputs to "
                    "--output (a Parquet folder, or a .npz file), with row ids; bad rows go to "
                    "an errors table next to the output and the job goes on. On a killed or "
                    "interrupted job, rerun the same command with --resume. Needs the 'batch' "
                    "extra (pyarrow, Pillow, rich); --engine ray needs the 'ray' extra.",
        epilog="examples:\n"
               "  ortsession batch model.onnx --input features.parquet --output preds/\n"
               "  ortsession batch model.onnx --input x.npy --output y.npz --batch-size 256\n"
               "  ortsession batch resnet.onnx --input photos/ --output preds/ \\\n"
               "      --image mean='[0.485,0.456,0.406]' --image std='[0.229,0.224,0.225]'\n"
               "  ortsession batch model.onnx --input data/ --output preds/ --engine ray \\\n"
               "      --ray-address auto --workers 8\n"
               "  ortsession batch model.onnx --input data/ --output preds/ --resume",
        formatter_class=HelpFormatter)
    add_session_arguments(parser)
    data = parser.add_argument_group("data")
    data.add_argument("--input", "-i", required=True, metavar="PATH",
                      help=".npy, .npz, .parquet (file or folder), .jsonl, or a folder of images")
    data.add_argument("--output", "-o", required=True, metavar="PATH",
                      help="a folder (Parquet parts) or a file ending .npz")
    data.add_argument("--map", dest="input_map", action="append", default=[],
                      metavar="INPUT=COLUMN", help="feed model input INPUT from source column "
                      "COLUMN (default: matched by name); repeatable")
    data.add_argument("--outputs", metavar="NAME[,NAME...]",
                      help="outputs to write (default: every tensor output)")
    data.add_argument("--image", action="append", default=[], metavar="KEY=VALUE",
                      help="image option (width, height, layout, channel_order, scale, mean, std, "
                           "resize_mode, data_type); VALUE as JSON when valid; repeatable")
    data.add_argument("--refuse-nan", action="store_true",
                      help="a row holding NaN in a floating-point input is a bad row")
    run = parser.add_argument_group("job")
    run.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local worker processes (default) or a Ray Data pipeline")
    run.add_argument("--workers", type=_positive_int, metavar="N",
                     help="workers (default: one per core; one for a short job) or Ray actors")
    run.add_argument("--parallel", choices=("auto", "threads", "processes"), default="auto",
                     help="local engine: run the workers as threads or processes (default: "
                          "chosen by timing the model on one batch)")
    run.add_argument("--batch-size", type=_positive_int, metavar="N",
                     help="rows per run when the model's batch dimension is free (default 64)")
    run.add_argument("--resume", action="store_true",
                     help="continue the job whose partial output is at --output")
    run.add_argument("--commit-rows", type=_positive_int, default=100_000, metavar="N",
                     help="commit a part at least every N rows (what a killed job redoes; "
                          "default 100000)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output")
    run.add_argument("--json", action="store_true",
                     help=f"print the summary as JSON (schema {SCHEMA!r})")
    run.add_argument("-q", "--quiet", dest="sub_quiet", action="store_true",
                     help="no progress bar and no notes")
    ray = parser.add_argument_group("ray engine")
    ray.add_argument("--ray-address", metavar="ADDR",
                     help="the Ray cluster to join (e.g. auto, ray://head:10001); default: a "
                          "local Ray")
    ray.add_argument("--num-cpus", type=_positive_float, metavar="N",
                     help="CPUs per actor, also its intra-op threads (default 1)")
    ray.add_argument("--num-gpus", type=_positive_float, metavar="N",
                     help="GPUs per actor (default 0)")
    ray.add_argument("--ray-model", choices=("bytes", "path"), default="bytes",
                     help="send the model through the object store (default) or let each actor "
                          "read MODEL (shared storage)")
    parser.set_defaults(handler=run_batch)


def _pairs(items: list[str], flag: str) -> dict[str, Any]:
    return dict(parse_key_value(item, flag) for item in items)


def run_batch(args: argparse.Namespace, out: Output) -> int:
    """Run the job; print its summary."""
    from ortsession import batch

    options = session_options(args)
    image = {k: json_or_string(v) for k, v in _pairs(args.image, "--image").items()}
    outputs = [n.strip() for n in args.outputs.split(",") if n.strip()] if args.outputs else None
    if not os.path.exists(args.model):
        raise UsageError(f"MODEL {args.model!r} does not exist")
    try:
        summary = batch.predict(
            args.model, args.input, args.output, options, engine=args.engine,
            batch_size=args.batch_size, workers=args.workers, resume=args.resume,
            overwrite=args.overwrite, progress=False if out.quiet else None,
            input_map=_pairs(args.input_map, "--map") or None, outputs=outputs,
            image=image or None, refuse_nan=args.refuse_nan, ray_address=args.ray_address,
            num_cpus=args.num_cpus, num_gpus=args.num_gpus,
            ship_model=args.ray_model == "bytes", commit_rows=args.commit_rows,
            parallel=args.parallel)
    except ort.StateError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        out.error("interrupted; the rows done so far are committed: rerun with --resume to "
                  "continue")
        return 130  # cli.EXIT_INTERRUPTED
    if args.json:
        out.json({"schema": SCHEMA, "rows": summary.rows, "ok_rows": summary.ok_rows,
                  "error_rows": summary.error_rows, "resumed_from": summary.resumed_from,
                  "seconds": summary.seconds, "rows_per_second": summary.rows_per_second,
                  "engine": summary.engine, "workers": summary.workers,
                  "parallel": summary.parallel,
                  "batch_size": summary.batch_size, "output": summary.output,
                  "errors_path": summary.errors_path,
                  "errors": [{"row_id": e.row_id, "error": e.message}
                             for e in summary.errors[:100]]})
        return 0
    items = [
        ("rows", f"{summary.rows} in {summary.seconds:.2f} s "
                 f"({summary.rows_per_second:,.0f} rows/s)"),
        ("ok", str(summary.ok_rows)),
        ("bad", f"{summary.error_rows}" + (f" (see {summary.errors_path})"
                                           if summary.error_rows else "")),
    ]
    if summary.resumed_from:
        items.append(("resumed after", f"{summary.resumed_from} rows"))
    out.pairs("batch", [
        *items,
        ("engine", f"{summary.engine}, {summary.workers} worker"
                   f"{'s' * (summary.workers != 1)} ({summary.parallel}), "
                   f"batch {summary.batch_size}"),
        ("output", str(summary.output)),
    ])
    for error in summary.errors[:5]:
        out.note(f"bad row {error.row_id}: {error.message}")
    if len(summary.errors) > 5:
        out.note(f"... and {len(summary.errors) - 5} more bad rows in {summary.errors_path}")
    return 0
