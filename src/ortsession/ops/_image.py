"""Images to tensors and back: resizing (stretch, letterbox, centre crop), normalisation, layouts.

Pillow (the ``image`` extra) decodes and resizes; numpy pads, normalises and lays out. The info
record (:class:`ImageInfo`) says how the source maps onto the tensor, so boxes found in the
tensor map back to the source (:func:`~ortsession.ops.scale_boxes`): a tensor coordinate ``x``
is ``(x - offset_x) / scale_x + crop_x`` in the source. Pixel coordinates are 0-based in both
languages (they are coordinates, not positions in a table).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np

from ortsession._errors import InputError, OptionError, TensorError

from ._common import (
    Array,
    as_array,
    dtype_of,
    merge_options,
    opt_bool,
    opt_choice,
    opt_float,
    opt_int,
    shape_text,
    show,
)

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["ImageInfo", "image_from_tensor", "load_image", "tensor_from_image",
           "tensor_from_images"]

_INSTALL_HINT: Final = ("images need Pillow: install the 'image' extra, e.g. "
                        "pip install 'ortsession[image]'")

_OPTIONS: Final = frozenset({
    "width", "height", "layout", "channel_order", "data_type", "scale", "mean", "std",
    "resize_mode", "letterbox_mode", "pad_color", "interpolation", "alpha_mode", "crop",
    "add_batch",
})
_LAYOUTS: Final = {"nchw": "nchw", "nhwc": "nhwc", "chw": "chw", "hwc": "hwc"}
_ORDERS: Final = {"rgb": "rgb", "bgr": "bgr", "gray": "gray", "grey": "gray",
                  "grayscale": "gray", "greyscale": "gray"}
_RESIZE: Final = {"stretch": "stretch", "letterbox": "letterbox", "center_crop": "center_crop",
                  "centre_crop": "center_crop"}
_INTERP: Final = {"bilinear": "bilinear", "linear": "bilinear", "nearest": "nearest"}
_ALPHA: Final = {"ignore": "ignore", "white": "white", "black": "black",
                 "premultiply": "premultiply"}
_BACK_OPTIONS: Final = frozenset({"layout", "channel_order", "batch_index", "scale", "mean",
                                  "std", "clamp", "value_range"})


@dataclass(frozen=True)
class ImageInfo:
    """How a source image became a tensor (returned with it by :func:`tensor_from_image`)."""

    src_width: int
    """Width of the source image."""
    src_height: int
    """Height of the source image."""
    crop_x: int
    """Left of the region used (0 without ``crop``)."""
    crop_y: int
    """Top of the region used."""
    crop_width: int
    """Width of the region used (the source width without ``crop``)."""
    crop_height: int
    """Height of the region used."""
    dst_width: int
    """Width of the tensor's image."""
    dst_height: int
    """Height of the tensor's image."""
    resized_width: int
    """Width of the region after resizing (before padding or cropping)."""
    resized_height: int
    """Height of the region after resizing."""
    layout: str
    """``nchw``, ``nhwc``, ``chw`` or ``hwc``."""
    channel_order: str
    """``rgb``, ``bgr`` or ``gray``."""
    resize_mode: str
    """``stretch``, ``letterbox`` or ``center_crop``."""
    scale_x: float
    """Tensor pixels per source pixel, horizontally."""
    scale_y: float
    """Tensor pixels per source pixel, vertically."""
    ratio: float
    """The resize ratio: letterbox/centre-crop's uniform scale; for stretch the smaller one."""
    offset_x: int
    """Where the resized region's left edge sits in the tensor (negative when centre-cropped)."""
    offset_y: int
    """Where the resized region's top edge sits in the tensor."""
    pad_left: int
    """Padding columns on the left (letterbox)."""
    pad_top: int
    """Padding rows on top."""
    pad_right: int
    """Padding columns on the right."""
    pad_bottom: int
    """Padding rows at the bottom."""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a dict."""
        return asdict(self)


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return Image


def load_image(image: Any) -> PILImage.Image:
    """Return a Pillow image from a Pillow image, a path, encoded bytes or a uint8 array.

    Arrays are ``[H, W]`` (gray), ``[H, W, 3]`` (RGB) or ``[H, W, 4]`` (RGBA), uint8.

    Raises:
        InputError: the file is missing or not an image, or the array has another shape/type.
    """
    Image = _pil()
    if isinstance(image, Image.Image):
        return cast("PILImage.Image", image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            img = Image.open(io.BytesIO(bytes(image)))
            img.load()
        except Exception as exc:
            raise InputError(f"image: {len(image)} bytes are not an image Pillow can decode "
                             f"({exc})") from None
        return cast("PILImage.Image", img)
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise InputError(f"image: no such image file {show(path)}")
        try:
            img = Image.open(path)
            img.load()
        except Exception as exc:
            raise InputError(f"image: {show(path)} is not an image Pillow can decode "
                             f"({exc})") from None
        return cast("PILImage.Image", img)
    if isinstance(image, np.ndarray) or hasattr(image, "numpy"):
        arr = as_array(image, "image")
        if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3
                                                          and arr.shape[2] in (1, 3, 4))):
            raise InputError(f"image: an array image must be uint8 [H, W], [H, W, 3] or "
                             f"[H, W, 4], got {show(arr)}")
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return cast("PILImage.Image", Image.fromarray(np.ascontiguousarray(arr)))
    raise InputError(f"image: expected an image, a path, image bytes or a uint8 array, got "
                     f"{show(image)}")


def _color(value: Any, where: str, key: str, channels: int) -> Array:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return np.full(channels, float(value))
    if isinstance(value, (list, tuple)) and len(value) in (1, 3) and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
        v = np.asarray(value, dtype=np.float64)
        if len(v) == 1:
            return np.full(channels, v[0])
        return v if channels == 3 else np.asarray([v.mean()])
    raise OptionError(f"{where}: option {key} must be a number or 3 numbers, got {show(value)}")


def _rgb(img: PILImage.Image, alpha: str) -> PILImage.Image:
    """Apply the alpha mode; return an RGB (or L) image."""
    Image = _pil()
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P"
                                                     and "transparency" in img.info)
    if not has_alpha or alpha == "ignore":
        return img if img.mode in ("RGB", "L") else img.convert("RGB")
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
    a = rgba[..., 3:4] / 255.0
    if alpha == "premultiply":
        out = rgba[..., :3] * a
    else:
        bg = 255.0 if alpha == "white" else 0.0
        out = rgba[..., :3] * a + bg * (1 - a)
    return cast("PILImage.Image",
                Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB"))


class _Plan:
    """The parsed options of :func:`tensor_from_image`."""

    def __init__(self, o: Mapping[str, Any], where: str) -> None:
        self.width = opt_int(o, "width", None, where, low=1)
        self.height = opt_int(o, "height", None, where, low=1)
        if (self.width is None) != (self.height is None):
            raise OptionError(f"{where}: give both width and height (or neither, to keep the "
                              f"source size)")
        self.layout = opt_choice(o, "layout", "nchw", where, _LAYOUTS)
        self.order = opt_choice(o, "channel_order", "rgb", where, _ORDERS)
        self.dtype = dtype_of(o.get("data_type", "float32"), f"{where}: option data_type")
        if self.dtype.kind not in "fiu" or self.dtype == np.bool_:
            raise OptionError(f"{where}: option data_type must be a numeric element type, got "
                              f"{show(o.get('data_type'))}")
        floating = self.dtype.kind == "f"
        self.scale = opt_float(o, "scale", 1 / 255 if floating else 1.0, where)
        channels = 1 if self.order == "gray" else 3
        self.mean = _color(o.get("mean", 0.0), where, "mean", channels)
        self.std = _color(o.get("std", 1.0), where, "std", channels)
        if np.any(self.std == 0):
            raise OptionError(f"{where}: option std must not be 0")
        self.resize = opt_choice(o, "resize_mode", "stretch", where, _RESIZE)
        self.top_left = str(o.get("letterbox_mode", "center")).lower() == "top_left"
        pad = _color(o.get("pad_color", 114), where, "pad_color", 3)
        if np.any((pad < 0) | (pad > 255)):
            raise OptionError(f"{where}: option pad_color must be within 0..255, got "
                              f"{show(o.get('pad_color'))}")
        self.pad = pad
        self.interp = opt_choice(o, "interpolation", "bilinear", where, _INTERP)
        self.alpha = opt_choice(o, "alpha_mode", "ignore", where, _ALPHA)
        self.add_batch = opt_bool(o, "add_batch", self.layout in ("nchw", "nhwc"), where)
        self.crop = o.get("crop")
        self.where = where


def _crop_box(crop: Any, w: int, h: int, where: str) -> tuple[int, int, int, int]:
    if crop is None:
        return 0, 0, w, h
    if isinstance(crop, Mapping):
        values = [crop.get(k) for k in ("x", "y", "width", "height")]
    elif isinstance(crop, (list, tuple)) and len(crop) == 4:
        values = list(crop)
    else:
        raise OptionError(f"{where}: option crop must be {{x, y, width, height}}, got "
                          f"{show(crop)}")
    if not all(isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())
               for v in values) or any(isinstance(v, bool) for v in values):
        raise OptionError(f"{where}: option crop needs integer x, y, width and height, got "
                          f"{show(crop)}")
    x, y, cw, ch = (int(cast("int", v)) for v in values)
    if cw <= 0 or ch <= 0 or x < 0 or y < 0 or x + cw > w or y + ch > h:
        raise OptionError(f"{where}: option crop x={x}, y={y}, width={cw}, height={ch} does not "
                          f"fit the {w}x{h} image")
    return x, y, cw, ch


def _convert(image: Any, p: _Plan) -> tuple[Array, ImageInfo]:
    Image = _pil()
    img = load_image(image)
    sw, sh = img.size
    cx, cy, cw, ch = _crop_box(p.crop, sw, sh, p.where)
    if (cx, cy, cw, ch) != (0, 0, sw, sh):
        img = img.crop((cx, cy, cx + cw, cy + ch))
    img = _rgb(img, p.alpha)
    if p.order == "gray":
        img = img.convert("L")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    dw, dh = (p.width, p.height) if p.width is not None and p.height is not None else (cw, ch)
    if p.resize == "stretch":
        rw, rh = dw, dh
        ratio = min(dw / cw, dh / ch)
    elif p.resize == "letterbox":
        ratio = min(dw / cw, dh / ch)
        rw, rh = (min(dw, max(1, round(cw * ratio))), min(dh, max(1, round(ch * ratio))))
    else:
        ratio = max(dw / cw, dh / ch)
        rw, rh = max(dw, round(cw * ratio)), max(dh, round(ch * ratio))
    resample = Image.Resampling.BILINEAR if p.interp == "bilinear" else (
        Image.Resampling.NEAREST)
    if (rw, rh) != (cw, ch):
        img = img.resize((rw, rh), resample=resample)
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    pad_l = pad_t = pad_r = pad_b = 0
    if p.resize == "letterbox":
        if not p.top_left:
            pad_l, pad_t = (dw - rw) // 2, (dh - rh) // 2
        pad_r, pad_b = dw - rw - pad_l, dh - rh - pad_t
        if pad_l or pad_t or pad_r or pad_b:
            fill = p.pad if arr.shape[2] == 3 else np.asarray([p.pad.mean()])
            canvas = np.empty((dh, dw, arr.shape[2]), dtype=np.uint8)
            canvas[...] = np.rint(fill).astype(np.uint8)
            canvas[pad_t:pad_t + rh, pad_l:pad_l + rw] = arr
            arr = canvas
        ox, oy = pad_l, pad_t
    elif p.resize == "center_crop":
        left, top = (rw - dw) // 2, (rh - dh) // 2
        arr = arr[top:top + dh, left:left + dw]
        ox, oy = -left, -top
    else:
        ox = oy = 0
    if p.order == "bgr":
        arr = arr[:, :, ::-1]
    if p.layout in ("nchw", "chw"):
        arr = arr.transpose(2, 0, 1)
        shape_c: tuple[int, ...] = (-1, 1, 1)
    else:
        shape_c = (1, 1, -1)
    out = _normalise(np.ascontiguousarray(arr), p, shape_c)
    if p.add_batch:
        out = out[None]
    info = ImageInfo(sw, sh, cx, cy, cw, ch, dw, dh, rw, rh, p.layout, p.order, p.resize,
                     rw / cw, rh / ch, ratio, ox, oy, pad_l, pad_t, pad_r, pad_b)
    return out, info


def _normalise(arr: Array, p: _Plan, shape_c: tuple[int, ...]) -> Array:
    identity = p.scale == 1.0 and not p.mean.any() and np.all(p.std == 1.0)
    if p.dtype == np.uint8 and identity:
        return arr
    work = arr.astype(p.dtype if p.dtype.kind == "f" else np.float32)
    if p.scale != 1.0:
        work *= work.dtype.type(p.scale)
    if p.mean.any():
        work -= p.mean.reshape(shape_c).astype(work.dtype)
    if not np.all(p.std == 1.0):
        work /= p.std.reshape(shape_c).astype(work.dtype)
    if p.dtype.kind == "f":
        return work
    lim = np.iinfo(p.dtype)
    return np.asarray(np.clip(np.rint(work), lim.min, lim.max).astype(p.dtype))


def tensor_from_image(image: Any, opts: Mapping[str, Any] | None = None, /,
                      **fields: Any) -> tuple[Array, ImageInfo]:
    """Convert an image to a model input tensor; return it with its :class:`ImageInfo`.

    Args:
        image: a Pillow image, a path, encoded image bytes, or a uint8 ``[H, W(, C)]`` array.
        opts: ``width``, ``height`` (the tensor's image size; default: the source's),
            ``layout`` (``nchw`` default, ``nhwc``, ``chw``, ``hwc``), ``channel_order``
            (``rgb`` default, ``bgr``, ``gray``/``grey``/``grayscale``), ``data_type``
            (``float32`` default), ``scale`` (multiplies pixel values 0..255; default 1/255 for
            floating types, 1 otherwise), ``mean``, ``std`` (a number or one per channel,
            applied after ``scale``: ``(v * scale - mean) / std``), ``resize_mode``
            (``stretch`` default, ``letterbox``, ``center_crop``), ``letterbox_mode``
            (``top_left``; anything else centres), ``pad_color`` (0..255, a number or 3;
            default 114), ``interpolation`` (``bilinear`` default, ``nearest``),
            ``alpha_mode`` (``ignore`` default, ``white``, ``black``, ``premultiply``),
            ``crop`` (``{x, y, width, height}`` of the source to use), ``add_batch`` (default
            true for ``nchw``/``nhwc``).
        **fields: options as keywords.

    Raises:
        InputError: the image cannot be read. OptionError: an option is invalid.
        ImportError: Pillow is missing (install the ``image`` extra).
    """
    where = "tensor_from_image"
    plan = _Plan(merge_options(opts, fields, where, _OPTIONS), where)
    return _convert(image, plan)


def tensor_from_images(images: Sequence[Any], opts: Mapping[str, Any] | None = None, /,
                       **fields: Any) -> tuple[Array, list[ImageInfo]]:
    """Convert several images with the same options into one batch; return it and the infos.

    The images must come out the same size: give ``width`` and ``height`` unless they already
    share one. The batch dimension comes first (``[N, C, H, W]`` for ``nchw``).
    """
    where = "tensor_from_images"
    if not isinstance(images, (list, tuple)) or not images:
        raise InputError(f"{where}: expected a non-empty list of images, got {show(images)}")
    plan = _Plan(merge_options(opts, fields, where, _OPTIONS), where)
    plan.add_batch = False
    arrays: list[Array] = []
    infos: list[ImageInfo] = []
    for i, image in enumerate(images):
        try:
            arr, info = _convert(image, plan)
        except InputError as exc:
            raise InputError(f"{where}: image {i + 1}: {exc}") from None
        if arrays and arr.shape != arrays[0].shape:
            raise InputError(f"{where}: image {i + 1} gives shape {shape_text(arr.shape)}, the "
                             f"first gave {shape_text(arrays[0].shape)}; give width and height")
        arrays.append(arr)
        infos.append(info)
    return np.stack(arrays), infos


_RANGES: Final = {"0_255": "0_255", "0_1": "0_1"}


def image_from_tensor(tensor: Any, opts: Mapping[str, Any] | None = None, /,
                      **fields: Any) -> PILImage.Image:
    """Convert a 2-D to 4-D tensor with 1 or 3 channels to a Pillow image (``RGB`` or ``L``).

    Options: ``layout`` (default: inferred, channels first when the first non-batch dimension is
    1 or 3), ``channel_order`` (``rgb``/``bgr``/``gray``), ``batch_index`` (0), ``mean``,
    ``std`` (undone first: ``v * std + mean``), ``scale`` (then ``v / scale``; without it,
    ``value_range`` applies: ``"0_1"``, the default for floating tensors, multiplies by 255),
    ``clamp`` (default true: clip to 0..255; false: out-of-range values raise).
    """
    where = "image_from_tensor"
    o = merge_options(opts, fields, where, _BACK_OPTIONS)
    Image = _pil()
    arr = as_array(tensor, "tensor", ndim=(2, 3, 4))
    layout = opt_choice(o, "layout", _guess_layout(arr), where, _LAYOUTS)
    need = 4 if layout.startswith("n") else 3
    if arr.ndim == 2:
        arr = arr[None] if layout in ("chw", "nchw") else arr[:, :, None]
        if layout.startswith("n"):
            arr = arr[None]
    elif arr.ndim != need:
        raise TensorError(f"tensor: layout {layout} needs a rank-{need} tensor, got "
                          f"{show(arr)}")
    if layout.startswith("n"):
        b = opt_int(o, "batch_index", 0, where, low=0) or 0
        if b >= arr.shape[0]:
            raise TensorError(f"{where}: batch_index out of range for a batch of "
                              f"{arr.shape[0]}")
        arr = arr[b]
    if layout in ("nchw", "chw"):
        arr = arr.transpose(1, 2, 0)
    c = arr.shape[2]
    if c not in (1, 3):
        raise TensorError(f"tensor: expected 1 or 3 channels, got {c} (shape "
                          f"{shape_text(arr.shape)}, layout {layout})")
    order = opt_choice(o, "channel_order", "rgb" if c == 3 else "gray", where, _ORDERS)
    floating = arr.dtype.kind == "f"
    work = arr.astype(np.float64)
    if floating and not np.all(np.isfinite(work)):
        raise TensorError(f"{where}: the tensor holds NaN or infinite values")
    if "std" in o:
        work = work * _color(o["std"], where, "std", c)
    if "mean" in o:
        work = work + _color(o["mean"], where, "mean", c)
    if "scale" in o:
        scale = opt_float(o, "scale", 1.0, where, low=0, low_open=True)
        work = work / scale
    elif opt_choice(o, "value_range", "0_1" if floating else "0_255", where, _RANGES) == "0_1":
        work = work * 255.0
    work = np.rint(work)
    if opt_bool(o, "clamp", True, where):
        work = np.clip(work, 0, 255)
    elif work.size and (work.min() < 0 or work.max() > 255):
        raise TensorError(f"{where}: values fall outside 0..255 ({work.min()}..{work.max()}) "
                          f"and clamp is off")
    pixels = work.astype(np.uint8)
    if c == 1:
        return cast("PILImage.Image",
                    Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]), "L"))
    if order == "bgr":
        pixels = pixels[:, :, ::-1]
    return cast("PILImage.Image", Image.fromarray(np.ascontiguousarray(pixels), "RGB"))


def _guess_layout(arr: Array) -> str:
    if arr.ndim == 4:
        return "nchw" if arr.shape[1] in (1, 3) else "nhwc"
    if arr.ndim == 3:
        return "chw" if arr.shape[0] in (1, 3) and arr.shape[2] not in (1, 3) else "hwc"
    return "hwc"
