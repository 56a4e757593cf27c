"""``ortsession inspect MODEL``: what a model takes and returns, its metadata and providers."""

from __future__ import annotations

import argparse
import os
from typing import Any

import ortsession as ort
from ortsession._providers import short_name

from ._common import (
    add_session_arguments,
    describe_type,
    fallback_line,
    format_shape,
    open_session,
    session_options,
)
from ._output import Output

__all__ = ["SCHEMA", "add_parser", "inspect_document"]

SCHEMA = "ortsession.inspect/1"
"""The ``schema`` field of ``inspect --json``; bumped on any incompatible change."""


def add_parser(subparsers: Any) -> None:
    """Register ``inspect`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "inspect", help="show a model's inputs, outputs, initializers, metadata and providers",
        description="Show a model's inputs, outputs and overridable initializers (element types, "
                    "shapes with symbolic dimension names, nested sequence/map/optional types), "
                    "its metadata, and the execution providers available and in effect.")
    add_session_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help=f"print one JSON document (schema {SCHEMA!r}, see docs/cli.md)")
    parser.set_defaults(handler=run_inspect)


def inspect_document(session: ort.Session, model: str) -> dict[str, Any]:
    """Return the ``inspect --json`` document of ``session`` (schema :data:`SCHEMA`)."""
    return {
        "schema": SCHEMA,
        "model": os.path.abspath(model),
        "ort_version": ort.version(),
        "inputs": [session.input_info(i).to_dict() for i in range(session.input_count())],
        "outputs": [session.output_info(i).to_dict() for i in range(session.output_count())],
        "overridable_initializers": [
            session.overridable_initializer_info(i).to_dict()
            for i in range(session.overridable_initializer_count())
        ],
        "metadata": session.metadata().to_dict(),
        "providers": {
            "available": ort.providers(),
            "requested": [short_name(p) for p in session.options.providers],
            "in_effect": session.providers(),
            "fallback_reason": session.fallback_reason,
        },
    }


def _rows(infos: list[ort.TypeInfo]) -> list[list[str]]:
    return [[str(i), info.name or "", describe_type(info), format_shape(info)]
            for i, info in enumerate(infos)]


def run_inspect(args: argparse.Namespace, out: Output) -> int:
    """Run ``inspect``; return the exit status."""
    with open_session(args.model, session_options(args), out) as session:
        document = inspect_document(session, args.model)
        if args.json:
            out.json(document)
            return 0
        meta = session.metadata()
        short = _shorten
        out.pairs("Model", [
            ("path", document["model"]),
            ("size", f"{os.path.getsize(args.model):,} bytes"),
            ("producer", short(meta.producer_name) or "-"),
            ("graph", short(meta.graph_name) or "-"),
            ("graph description", short(meta.graph_description) or "-"),
            ("domain", short(meta.domain) or "-"),
            ("description", short(meta.description) or "-"),
            ("model version", str(meta.version)),
            *((f"metadata[{short(k, 60)}]", short(v)) for k, v in meta.custom_metadata.items()),
        ])
        out.print()
        columns = ["#", "name", "type", "shape"]
        out.table("Inputs", columns, _rows([session.input_info(i)
                                            for i in range(session.input_count())]))
        out.print()
        out.table("Outputs", columns, _rows([session.output_info(i)
                                             for i in range(session.output_count())]))
        out.print()
        out.table("Overridable initializers", columns, _rows(
            [session.overridable_initializer_info(i)
             for i in range(session.overridable_initializer_count())]))
        out.print()
        providers = document["providers"]
        items = [("available", ", ".join(providers["available"])),
                 ("requested", ", ".join(providers["requested"])),
                 ("in effect", ", ".join(providers["in_effect"]))]
        line = fallback_line(session)
        if line is not None:
            items.append(("fallback", line))
        out.pairs("Providers", items)
    return 0


SHOWN_CHARS = 200
"""Characters of a metadata value ``inspect`` shows (``--json`` gives every value whole)."""


def _shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """One line of at most ``limit`` characters, saying how much was left out."""
    flat = " ".join(text.split()) if "\n" in text or "\r" in text else text
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}… ({len(text):,} characters; --json shows all)"
