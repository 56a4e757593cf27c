"""Image-folder sources: one file → one input row, through the tensor module's converter.

Images are decoded and preprocessed by :func:`ortsession.ops.tensor_from_image` (SPEC §12), with
its options (``width``, ``height``, ``layout``, ``channel_order``, ``data_type``, ``scale``,
``mean``, ``std``, ``resize_mode``, ``letterbox_mode``, ``pad_color``, ``interpolation``,
``alpha_mode``, ``crop``). :func:`image_options` fills what the model input fixes and checks the
rest once, before the job starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from ortsession._errors import OptionError

__all__ = ["IMAGE_SUFFIXES", "image_options"]

IMAGE_SUFFIXES: Final = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
"""File name endings an image-folder source picks up (compared in lower case)."""

_AXES: Final = {"nchw": (1, 2, 3), "nhwc": (3, 1, 2), "chw": (0, 1, 2), "hwc": (2, 0, 1)}
"""Channel, height and width axes of each layout."""


def _guess_layout(shape: Sequence[int]) -> str:
    """Guess an image input's layout from its declared shape (``[N, 3, H, W]`` → ``nchw``)."""
    rank = len(shape)
    if rank == 4:
        return "nhwc" if shape[3] in (1, 3) and shape[1] not in (1, 3) else "nchw"
    if rank == 3:
        return "hwc" if shape[2] in (1, 3) and shape[0] not in (1, 3) else "chw"
    raise OptionError(f"image input: expected a model input of rank 3 or 4 (an image), got shape "
                      f"{list(shape)}")


def image_options(given: Mapping[str, Any] | None, input_shape: Sequence[int],
                  input_type: str) -> dict[str, Any]:
    """Return ``tensor_from_image`` options for one model input, checked.

    Defaults from the model input: ``width``/``height`` from its fixed dimensions, ``layout``
    from its shape, ``channel_order="gray"`` for one channel (``rgb`` otherwise), ``data_type``
    the input's element type; ``tensor_from_image``'s own defaults for the rest (``scale=1/255``
    for floating-point types, ``mean=0``, ``std=1``, ``resize_mode="stretch"``). The options
    are checked by converting a blank 2x2 image, so a bad one stops the job before it starts.

    Raises:
        OptionError: a bad option (``tensor_from_image``'s message), or a size that the model
            does not fix and the options do not give.
    """
    from ortsession.ops import tensor_from_image

    opts = dict(given or {})
    layout = str(opts.get("layout") or _guess_layout(input_shape)).lower()
    axes = _AXES.get(layout)
    opts["layout"] = layout
    if axes is not None:
        for name, axis in (("height", axes[1]), ("width", axes[2])):
            if opts.get(name) is None:
                size = input_shape[axis] if len(input_shape) > axis else -1
                if size <= 0:
                    raise OptionError(f"image option {name!r} is needed: the model input does "
                                      f"not fix it (shape {list(input_shape)})")
                opts[name] = size
        if "channel_order" not in opts and len(input_shape) > axes[0]:
            opts["channel_order"] = "gray" if input_shape[axes[0]] == 1 else "rgb"
    opts.setdefault("data_type", input_type)
    tensor_from_image(np.zeros((2, 2, 3), np.uint8), opts)
    return opts


def read_image(path: str, opts: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    """Decode the image at ``path`` and preprocess it as ``opts`` say (see :func:`image_options`).

    Returns an array of the options' ``data_type``: ``[1, C, H, W]`` (``nchw``), ``[1, H, W, C]``
    (``nhwc``), ``[C, H, W]`` (``chw``) or ``[H, W, C]`` (``hwc``).

    Raises:
        InputError: the file cannot be read or is not an image Pillow can decode.
    """
    from ortsession.ops import tensor_from_image

    return tensor_from_image(path, opts)[0]
