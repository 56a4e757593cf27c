"""Models bundled with ortsession, shipped as package data.

``tools/make_models.py`` generates them (deterministically); they are small enough to commit:

``demo/model.onnx``
    The reference module's example: inputs ``x`` and ``bias`` (float32 ``[1, 2]``), output
    ``y = x + bias``. With ``x = {1, 2}`` and ``bias = {0.5, -0.5}``, ``y = {1.5, 1.5}``.
``demo/classifier.onnx``
    A tiny MLP for demos and benchmarks: input ``input`` float32 ``[N, 4]`` (``N`` a symbolic
    batch dimension, denotation ``DATA_BATCH``), output ``probabilities`` float32 ``[N, 3]``.
``demo/detector.onnx``
    A YOLOv8-shaped detector of red and blue squares (a fixed function of its input): ``images``
    float32 ``[1, 3, 320, 320]`` -> ``output0`` float32 ``[1, 6, 200]``.
``demo/recognizer.onnx``
    A CTC recogniser reading 8-pixel bands' darkness as digits: ``x`` float32 ``[1, 1, 32, W]``
    -> ``logits`` float32 ``[1, W/8, 11]`` (class 0 the blank).

Example::

    >>> from ortsession import models
    >>> models.path("demo/model.onnx").endswith("model.onnx")
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from ortsession._errors import NotFoundError

__all__ = ["names", "path"]

_ROOT: Final = Path(__file__).resolve().parent


def names() -> list[str]:
    """Return the names of the bundled models, sorted, as :func:`path` takes them.

    Names are ``/``-separated paths relative to this folder, e.g. ``"demo/model.onnx"``.
    """
    return sorted(p.relative_to(_ROOT).as_posix() for p in _ROOT.rglob("*.onnx") if p.is_file())


def path(name: str) -> str:
    """Return the absolute filesystem path of the bundled model *name*.

    Args:
        name: the model's ``/``-separated path relative to the models folder, e.g.
            ``"demo/model.onnx"`` (see :func:`names`).

    Returns:
        The absolute path, as a ``str`` ready for :func:`ortsession.session`.

    Raises:
        NotFoundError: no bundled model has that name (the message lists those that exist).
    """
    available = names()
    if name not in available:
        raise NotFoundError(
            f"no bundled model named {name!r}; available: {', '.join(available) or 'none'}"
        )
    return str(_ROOT.joinpath(*name.split("/")))
