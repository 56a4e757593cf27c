"""Image decoding for image-folder sources: one file → one input row.

:func:`_load_image` is the one place that decodes and preprocesses an image (Pillow). Its options
use the names of the tensor module's ``tensor_from_image`` (SPEC §12): ``width``, ``height``,
``layout``, ``channel_order``, ``scale``, ``mean``, ``std``, ``resize_mode`` (``stretch`` only
here), ``data_type``. :func:`image_options` fills the defaults from the model's input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from ortsession._errors import ElementTypeError, OptionError
from ortsession._types import element_type

__all__ = ["IMAGE_SUFFIXES", "image_options"]

IMAGE_SUFFIXES: Final = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
"""File name endings an image-folder source picks up (compared in lower case)."""

_LAYOUTS: Final = ("nchw", "nhwc", "chw", "hwc")
_CHANNEL_ORDERS: Final = {"rgb": "rgb", "bgr": "bgr", "gray": "gray", "grey": "gray",
                          "grayscale": "gray"}
_FIELDS: Final = ("width", "height", "layout", "channel_order", "scale", "mean", "std",
                  "resize_mode", "data_type")


def _guess_layout(shape: Sequence[int]) -> str:
    """Guess an image input's layout from its declared shape (``[N, 3, H, W]`` → ``nchw``)."""
    rank = len(shape)
    if rank == 4:
        return "nhwc" if shape[3] in (1, 3) and shape[1] not in (1, 3) else "nchw"
    if rank == 3:
        return "hwc" if shape[2] in (1, 3) and shape[0] not in (1, 3) else "chw"
    raise OptionError(f"image input: expected a model input of rank 3 or 4 (an image), got shape "
                      f"{list(shape)}")


def _channels(shape: Sequence[int], layout: str) -> int:
    axis = {"nchw": 1, "nhwc": 3, "chw": 0, "hwc": 2}[layout]
    return shape[axis] if len(shape) > axis else -1


def _per_channel(name: str, value: Any, channels: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise OptionError(f"image option {name!r}: expected a number or a list of numbers, got "
                          f"{value!r}") from None
    if array.size not in (1, channels):
        raise OptionError(f"image option {name!r}: expected 1 or {channels} values (one per "
                          f"channel), got {array.size}")
    return array


def image_options(given: Mapping[str, Any] | None, input_shape: Sequence[int],
                  input_type: str) -> dict[str, Any]:
    """Check the image options and fill the defaults from the model input.

    Defaults: ``width``/``height`` from the input's fixed dimensions, ``layout`` from its shape,
    ``channel_order="rgb"`` (``"gray"`` for one channel), ``data_type`` the input's element type,
    ``scale=1/255`` for floating-point types (1 otherwise), ``mean=0``, ``std=1``,
    ``resize_mode="stretch"``. Each channel value is ``(pixel * scale - mean) / std``.

    Raises:
        OptionError: an unknown option, a bad value, or a size the model does not fix and the
            options do not give.
    """
    opts = dict(given or {})
    for name in opts:
        if name not in _FIELDS:
            raise OptionError(f"unknown image option {name!r}; accepted: {', '.join(_FIELDS)}")
    layout = str(opts.get("layout") or _guess_layout(input_shape)).lower()
    if layout not in _LAYOUTS:
        raise OptionError(f"image option 'layout': expected one of {', '.join(_LAYOUTS)}, got "
                          f"{opts['layout']!r}")
    h_axis, w_axis = {"nchw": (2, 3), "nhwc": (1, 2), "chw": (1, 2), "hwc": (0, 1)}[layout]
    size = {}
    for name, axis in (("height", h_axis), ("width", w_axis)):
        value = opts.get(name)
        if value is None:
            value = input_shape[axis] if len(input_shape) > axis else -1
            if value <= 0:
                raise OptionError(f"image option {name!r} is needed: the model input does not fix "
                                  f"it (shape {list(input_shape)})")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise OptionError(f"image option {name!r}: expected a positive integer, got {value!r}")
        size[name] = value
    channels = _channels(input_shape, layout)
    order = str(opts.get("channel_order") or ("gray" if channels == 1 else "rgb")).lower()
    if order not in _CHANNEL_ORDERS:
        raise OptionError(f"image option 'channel_order': expected rgb, bgr or gray, got "
                          f"{opts['channel_order']!r}")
    order = _CHANNEL_ORDERS[order]
    count = 1 if order == "gray" else 3
    resize_mode = str(opts.get("resize_mode", "stretch"))
    if resize_mode != "stretch":
        raise OptionError(f"image option 'resize_mode': only 'stretch' is supported here, got "
                          f"{resize_mode!r}")
    data_type = str(opts.get("data_type") or input_type)
    try:
        dtype = element_type(data_type).dtype
    except ElementTypeError as exc:
        raise OptionError(f"image option 'data_type': {exc}") from None
    floating = np.issubdtype(dtype, np.floating)
    scale = opts.get("scale", 1.0 / 255.0 if floating else 1.0)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool):
        raise OptionError(f"image option 'scale': expected a number, got {scale!r}")
    return {
        **size, "layout": layout, "channel_order": order, "resize_mode": resize_mode,
        "data_type": data_type, "dtype": dtype, "scale": float(scale),
        "mean": _per_channel("mean", opts.get("mean", 0.0), count),
        "std": _per_channel("std", opts.get("std", 1.0), count),
    }


def _load_image(path: str, opts: Mapping[str, Any]) -> np.ndarray:
    """Decode the image at ``path`` and preprocess it as ``opts`` says (see :func:`image_options`).

    Returns an array of ``opts["dtype"]``: ``[1, C, H, W]`` (``nchw``), ``[1, H, W, C]``
    (``nhwc``), ``[C, H, W]`` (``chw``) or ``[H, W, C]`` (``hwc``).

    Raises:
        OSError: the file cannot be read or is not an image Pillow can decode.
    """
    from PIL import Image

    with Image.open(path) as image:
        mode = "L" if opts["channel_order"] == "gray" else "RGB"
        picture = image.convert(mode).resize((opts["width"], opts["height"]),
                                             Image.Resampling.BILINEAR)
    pixels = np.asarray(picture, dtype=np.float32)
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
    if opts["channel_order"] == "bgr":
        pixels = pixels[:, :, ::-1]
    values = (pixels * opts["scale"] - opts["mean"]) / opts["std"]
    dtype = opts["dtype"]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    layout = opts["layout"]
    if layout in ("nchw", "chw"):
        values = values.transpose(2, 0, 1)
    if layout in ("nchw", "nhwc"):
        values = values[None]
    return np.ascontiguousarray(values, dtype=dtype)
