"""Instance masks: thresholding, cropping, resizing, IoU, polygons and YOLO-seg prototypes.

Masks are ``[N, H, W]`` (or ``[H, W]``) arrays; :func:`threshold_masks` and
:func:`proto_masks` give :class:`Mask` records (size, bits, pixel count, bounds). Functions
taking masks accept arrays, records or lists of records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from ortsession._errors import TensorError

from ._common import (
    Array,
    as_array,
    float_array,
    merge_options,
    opt_float,
    opt_int,
    shape_text,
    show,
)

__all__ = ["Mask", "crop_masks_by_boxes", "mask_iou", "mask_to_polygon", "project_masks",
           "proto_masks", "resize_masks", "threshold_masks"]


@dataclass(frozen=True)
class Mask:
    """A binary mask."""

    width: int
    """Width in pixels."""
    height: int
    """Height in pixels."""
    bits: Array
    """``[height, width]`` bool array, row-major."""
    pixel_count: int
    """Number of set pixels."""
    bounds: tuple[int, int, int, int] | None
    """``(x, y, width, height)`` of the set pixels' bounding box; ``None`` when empty."""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a dict (``bounds`` as ``{"x", "y", "width", "height"}``)."""
        b = self.bounds
        return {"width": self.width, "height": self.height, "bits": self.bits,
                "pixel_count": self.pixel_count,
                "bounds": None if b is None else dict(zip(("x", "y", "width", "height"), b))}


def _stack(masks: Any, name: str = "masks") -> tuple[Array, bool]:
    """Masks as ``[N, H, W]`` and whether a single mask was given."""
    if isinstance(masks, Mask):
        return masks.bits[None], True
    if isinstance(masks, (list, tuple)) and masks and all(isinstance(m, Mask) for m in masks):
        shapes = {m.bits.shape for m in masks}
        if len(shapes) != 1:
            raise TensorError(f"{name}: masks have different sizes")
        return np.stack([m.bits for m in masks]), False
    arr = as_array(masks, name, ndim=(2, 3, 4))
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise TensorError(f"{name}: expected [N, H, W] masks, got {shape_text(arr.shape)}")
        arr = arr[0]
    if arr.shape[-1] == 0 or arr.shape[-2] == 0:
        raise TensorError(f"{name}: masks must have a width and a height, got shape "
                          f"{shape_text(arr.shape)}")
    return (arr[None], True) if arr.ndim == 2 else (arr, False)


def _records(bits: Array) -> list[Mask]:
    n, h, w = bits.shape
    counts = bits.reshape(n, -1).sum(axis=1)
    rows_any = bits.any(axis=2)
    cols_any = bits.any(axis=1)
    out = []
    for i in range(n):  # one record per mask; the per-pixel work above is vectorised
        if counts[i]:
            ys = np.flatnonzero(np.asarray(rows_any)[i])
            xs = np.flatnonzero(np.asarray(cols_any)[i])
            bounds = (int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1))
        else:
            bounds = None
        out.append(Mask(w, h, bits[i], int(counts[i]), bounds))
    return out


def threshold_masks(masks: Any, threshold: float = 0.5) -> list[Mask]:
    """Binary mask records of ``masks > threshold`` (``[N, H, W]`` or ``[H, W]``)."""
    arr, _ = _stack(masks)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise TensorError(f"threshold_masks: threshold must be a number, got {show(threshold)}")
    return _records(np.asarray(arr > threshold))


def crop_masks_by_boxes(masks: Any, boxes: Any) -> Array:
    """Zero each mask outside its ``[x1, y1, x2, y2]`` box (mask pixel coordinates)."""
    arr, single = _stack(masks)
    b = float_array(boxes, "boxes", ndim=(1, 2))
    b = b.reshape(1, -1) if b.ndim == 1 else b
    if b.shape[1] != 4:
        raise TensorError(f"boxes: expected [N, 4] boxes, got {shape_text(b.shape)}")
    if b.shape[0] != arr.shape[0]:
        raise TensorError(f"crop_masks_by_boxes: expected {arr.shape[0]} boxes (one per mask), "
                          f"got {b.shape[0]}")
    _, h, w = arr.shape
    xs = np.arange(w)[None, None, :] + 0.5
    ys = np.arange(h)[None, :, None] + 0.5
    inside = ((xs >= b[:, 0, None, None]) & (xs < b[:, 2, None, None])
              & (ys >= b[:, 1, None, None]) & (ys < b[:, 3, None, None]))
    out = np.where(inside, arr, np.zeros((), dtype=arr.dtype))
    return out[0] if single else out


def _resize(arr: Array, width: int, height: int) -> Array:
    _, h, w = arr.shape
    yi = np.minimum((np.arange(height) + 0.5) * h / height, h - 1).astype(np.int64)
    xi = np.minimum((np.arange(width) + 0.5) * w / width, w - 1).astype(np.int64)
    return np.asarray(arr[:, yi[:, None], xi[None, :]])


def resize_masks(masks: Any, width: int, height: int,
                 opts: Mapping[str, Any] | None = None) -> Array:
    """Resize masks to ``width`` x ``height`` (nearest neighbour); ``[N, H, W]`` kept."""
    merge_options(opts, {}, "resize_masks", {"interpolation"})
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise TensorError(f"resize_masks: {name} must be a positive integer, got {show(v)}")
    arr, single = _stack(masks)
    out = _resize(arr, int(width), int(height))
    return out[0] if single else out


def mask_iou(a: Any, b: Any, opts: Mapping[str, Any] | None = None, /,
             **fields: Any) -> Any:
    """IoU of masks: two masks → a number; ``[Na, ...]`` and ``[Nb, ...]`` → ``[Na, Nb]``.

    Masks of different sizes are compared at ``compare_size`` (``[width, height]``) or
    ``width``/``height`` (default: the larger mask's size), resized by nearest neighbour.
    """
    where = "mask_iou"
    o = merge_options(opts, fields, where, {"compare_size", "width", "height"})
    x, sx = _stack(a, "a")
    y, sy = _stack(b, "b")
    if "compare_size" in o:
        cs = o["compare_size"]
        if not isinstance(cs, (list, tuple)) or len(cs) != 2:
            raise TensorError(f"{where}: compare_size must be {{width, height}}")
        w, h = int(cs[0]), int(cs[1])
    elif "width" in o or "height" in o:
        w = opt_int(o, "width", x.shape[2], where, low=1) or 1
        h = opt_int(o, "height", x.shape[1], where, low=1) or 1
    else:
        w, h = max(x.shape[2], y.shape[2]), max(x.shape[1], y.shape[1])
    xb = _resize(x, w, h) > 0.5 if x.shape[1:] != (h, w) else x > 0.5
    yb = _resize(y, w, h) > 0.5 if y.shape[1:] != (h, w) else y > 0.5
    xf = xb.reshape(xb.shape[0], -1).astype(np.float64)
    yf = yb.reshape(yb.shape[0], -1).astype(np.float64)
    inter = xf @ yf.T
    union = xf.sum(1)[:, None] + yf.sum(1)[None, :] - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return float(iou[0, 0]) if sx and sy else iou


_DIRS: Final = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]


def _trace(bits: Array) -> list[tuple[int, int]]:
    """Moore-neighbour tracing of the outer boundary of the first (top-left) component.

    Stops by Jacob's criterion (the start pixel left by the same move twice), so components
    whose boundary passes the start pixel more than once are traced whole. The loop walks
    boundary pixels only (inherently sequential), never the whole image.
    """
    ys, xs = np.nonzero(bits)
    if not ys.size:
        return []
    start = (int(xs[0]), int(ys[0]))
    padded = np.pad(bits, 1)
    contour = [start]
    cur, back = start, 4  # the raster scan reached start from the west: background there
    first: tuple[tuple[int, int], int] | None = None
    for _ in range(8 * int(ys.size) + 8):  # each pixel is left at most by 8 distinct moves
        for k in range(8):
            d = (back + 1 + k) % 8
            nx, ny = cur[0] + _DIRS[d][0], cur[1] + _DIRS[d][1]
            if padded[ny + 1, nx + 1]:
                break
        else:
            return contour  # a single pixel
        if first is None:
            first = (cur, d)
        elif (cur, d) == first:
            contour.pop()  # start, reached again
            break
        back = (d + 4) % 8
        cur = (nx, ny)
        contour.append(cur)
    return contour


def _simplify(points: Array, eps: float) -> Array:
    """Ramer-Douglas-Peucker simplification (each step vectorised over a segment)."""
    if len(points) < 3 or eps <= 0:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        seg = points[j] - points[i]
        rel = points[i + 1:j] - points[i]
        norm = float(np.hypot(*seg))
        dist = (np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm if norm
                else np.hypot(rel[:, 0], rel[:, 1]))
        k = int(np.argmax(dist))
        if dist[k] > eps:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    kept: Array = points[keep]
    return kept


def mask_to_polygon(mask: Any, opts: Mapping[str, Any] | None = None, /,
                    **fields: Any) -> list[list[float]]:
    """Outer contour of a mask's first component as ``[[x, y], ...]`` pixel points.

    Option ``epsilon`` (alias ``approx_epsilon``, default 1.0 pixel): Douglas-Peucker
    tolerance; 0 keeps every boundary pixel. An empty mask gives ``[]``.
    """
    where = "mask_to_polygon"
    o = merge_options(opts, fields, where, {"epsilon", "approx_epsilon"})
    eps = opt_float(o, "epsilon", float(o.get("approx_epsilon", 1.0)), where, low=0)
    arr, single = _stack(mask, "mask")
    if not single and arr.shape[0] != 1:
        raise TensorError(f"mask: expected one mask, got {arr.shape[0]}")
    contour = _trace(np.asarray(arr[0] > 0.5 if arr.dtype != np.bool_ else arr[0]))
    if not contour:
        return []
    pts = np.asarray([*contour, contour[0]], dtype=np.float64)
    simple = _simplify(pts, eps)[:-1] if len(pts) > 2 else pts[:-1]
    return [[float(x), float(y)] for x, y in simple]


def proto_masks(proto: Any, coeffs: Any, boxes: Any, image_width: int, image_height: int,
                opts: Mapping[str, Any] | None = None, /, **fields: Any) -> list[Mask]:
    """YOLO-seg masks: ``sigmoid(coeffs @ proto)``, cropped to the boxes, at image size.

    Args:
        proto: ``[1, P, mh, mw]`` or ``[P, mh, mw]`` prototypes.
        coeffs: ``[N, P]`` mask coefficients of the kept detections.
        boxes: ``[N, 4]`` ``[x1, y1, x2, y2]`` in model-input pixels (``image_width`` x
            ``image_height``, the input the prototypes cover).
        image_width: the model input width.
        image_height: the model input height.
        opts: ``threshold`` (0.5).
        **fields: options as keywords.
    """
    where = "proto_masks"
    o = merge_options(opts, fields, where, {"threshold"})
    thr = opt_float(o, "threshold", 0.5, where)
    p = float_array(proto, "proto", ndim=(3, 4))
    if p.ndim == 4:
        if p.shape[0] != 1:
            raise TensorError(f"proto: expected [1, P, H, W], got {shape_text(p.shape)}")
        p = p[0]
    c = float_array(coeffs, "coeffs", ndim=(1, 2))
    c = c.reshape(1, -1) if c.ndim == 1 else c
    if c.shape[1] != p.shape[0]:
        raise TensorError(f"coeffs: expected [N, {p.shape[0]}] coefficients (one per "
                          f"prototype), got {shape_text(c.shape)}")
    b = float_array(boxes, "boxes", ndim=(1, 2)).reshape(-1, 4)
    if b.shape[0] != c.shape[0]:
        raise TensorError(f"boxes: expected {c.shape[0]} boxes (one per coefficient row), got "
                          f"{b.shape[0]}")
    for name, v in (("image_width", image_width), ("image_height", image_height)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise TensorError(f"{where}: {name} must be a positive integer, got {show(v)}")
    _, mh, mw = p.shape
    logits = (c @ p.reshape(p.shape[0], -1)).reshape(-1, mh, mw)
    prob = 1 / (1 + np.exp(-logits))
    scale = np.array([mw / image_width, mh / image_height] * 2, dtype=np.float32)
    cropped = crop_masks_by_boxes(prob, b * scale) if len(b) else prob
    big = _resize(np.asarray(cropped).reshape(-1, mh, mw), int(image_width), int(image_height))
    return _records(np.asarray(big > thr))


project_masks = proto_masks
