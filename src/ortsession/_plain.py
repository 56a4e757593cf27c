"""Plain onnxruntime: ORT's own ``InferenceSession`` set up like a session, for comparisons.

``ortsession bench --compare-raw`` times a model through ``onnxruntime.InferenceSession``, the
class a user of plain onnxruntime calls, next to ortsession. The plain session gets its ORT
``SessionOptions`` from the mapping every ortsession session goes through
(:func:`._builder.ort_session_options`) and runs on the providers in effect in the session it is
compared with, so the two differ only in the Python layer being timed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _config, _engine
from ._builder import ort_session_options, provider_options_for
from ._custom_ops import load_custom_op_library
from ._providers import CPU, short_name

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["PlainSession", "plain_session"]

@dataclass(frozen=True)
class PlainSession:
    """ORT's own objects for plain runs of a model.

    Attributes:
        session: ORT's Python ``onnxruntime.InferenceSession``.
        run_options: ORT's ``RunOptions`` for its runs (``terminate`` stops them).
    """

    session: Any
    run_options: Any


def plain_session(model: str, like: Session) -> PlainSession:
    """Create ``onnxruntime.InferenceSession`` for the model file ``model``, set up as ``like``.

    The session options are ``like.options`` mapped as for every session; the providers are
    those of ``like.options.providers`` in effect in ``like`` (CPU after a fallback).

    Raises:
        OptionError, CustomOpLibraryError: an option cannot apply (as for ``like`` itself).
        Exception: ORT's own exception when it cannot load the model (the caller words it).
    """
    options = like.options
    in_effect = like.providers()
    providers = [p for p in options.providers if short_name(p) in in_effect] or [CPU]
    libraries = [load_custom_op_library(path) for path in options.custom_op_libraries]
    so = ort_session_options(options, _config.before_session(), libraries)
    session = _engine.plain_session(model, so, providers, provider_options_for(options, providers))
    run_options = _engine.run_options()
    run_options.log_severity_level = _engine.SILENT  # no "terminate flag" line when stopped
    return PlainSession(session, run_options)
