"""Box geometry and non-maximum suppression (axis-aligned and rotated boxes).

Axis-aligned boxes are ``[x1, y1, x2, y2]`` rows; rotated boxes are ``[cx, cy, w, h, angle]``
rows with the angle in radians (counter-clockwise in the image's y-down frame, as YOLO-OBB and
OpenCV give it). Kept indices are 0-based int64 arrays in descending score order.

NMS is greedy: the best remaining box is kept and every box overlapping it by more than
``iou_threshold`` is dropped. The loop runs once per *kept* box; each step computes the IoU of
that box against all remaining boxes in one vectorised numpy expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from ortsession._errors import TensorError

from ._common import (
    Array,
    as_array,
    float_array,
    merge_options,
    opt_bool,
    opt_float,
    opt_int,
    shape_text,
    show,
)

__all__ = ["box_iou", "box_points", "nms", "rotated_iou", "rotated_nms", "xywh_to_xyxy",
           "xyxy_to_xywh"]

_NMS_OPTIONS: Final = frozenset({"iou_threshold", "score_threshold", "top_k", "class_aware",
                                 "class_ids"})
_ROTATED_OPTIONS: Final = frozenset({"iou_threshold", "score_threshold", "top_k"})


def _boxes(value: Any, name: str, width: int, *, single: bool = False) -> Array:
    arr = float_array(value, name, ndim=(1, 2))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if single or arr.size else arr.reshape(0, width)
    if arr.shape[1] != width:
        raise TensorError(f"{name}: expected boxes of shape [N, {width}], got "
                          f"{shape_text(arr.shape)}")
    return arr


def _scores(value: Any, n: int, name: str = "scores") -> Array:
    arr = float_array(value, name, ndim=(1, 2))
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise TensorError(f"{name}: expected [N] or [N, 1] scores, got "
                              f"{shape_text(arr.shape)}")
        arr = arr[:, 0]
    if arr.shape[0] != n:
        raise TensorError(f"{name}: expected {n} scores (one per box), got {arr.shape[0]}")
    return arr


def xywh_to_xyxy(boxes: Any) -> Array:
    """Convert ``[cx, cy, w, h]`` boxes (centre, size) to ``[x1, y1, x2, y2]``."""
    b = float_array(boxes, "boxes")
    if b.shape[-1:] != (4,):
        raise TensorError(f"boxes: expected a last dimension of 4, got {shape_text(b.shape)}")
    half = b[..., 2:4] / 2
    return np.concatenate([b[..., 0:2] - half, b[..., 0:2] + half], axis=-1)


def xyxy_to_xywh(boxes: Any) -> Array:
    """Convert ``[x1, y1, x2, y2]`` boxes to ``[cx, cy, w, h]`` (centre, size)."""
    b = float_array(boxes, "boxes")
    if b.shape[-1:] != (4,):
        raise TensorError(f"boxes: expected a last dimension of 4, got {shape_text(b.shape)}")
    return np.concatenate([(b[..., 0:2] + b[..., 2:4]) / 2, b[..., 2:4] - b[..., 0:2]], axis=-1)


def box_iou(a: Any, b: Any) -> Array:
    """IoU of every ``[x1, y1, x2, y2]`` box of ``a`` with every box of ``b``: ``[Na, Nb]``."""
    x = _boxes(a, "a", 4).astype(np.float64)
    y = _boxes(b, "b", 4).astype(np.float64)
    return iou_matrix(x, y)


def iou_matrix(x: Array, y: Array) -> Array:
    lt = np.maximum(x[:, None, :2], y[None, :, :2])
    rb = np.minimum(x[:, None, 2:], y[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_x = np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)
    area_y = np.clip(y[:, 2] - y[:, 0], 0, None) * np.clip(y[:, 3] - y[:, 1], 0, None)
    union = area_x[:, None] + area_y[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(union > 0, inter / union, 0.0))


def _candidates(scores: Array, o: Mapping[str, Any], where: str) -> tuple[Array, float]:
    """Return the indices passing the score threshold, best first, and the IoU threshold."""
    iou = opt_float(o, "iou_threshold", 0.45, where, low=0.0, high=1.0)
    thr = opt_float(o, "score_threshold", -np.inf, where) if "score_threshold" in o else -np.inf
    order = np.argsort(-scores, kind="stable")
    if thr > -np.inf:
        order = order[scores[order] >= thr]
    return order, iou


def _greedy(order: Array, iou_rows: Any, iou_threshold: float, top_k: int | None) -> Array:
    """Greedy suppression over ``order``; ``iou_rows(i, rest)`` gives IoUs of box i vs rest."""
    keep: list[int] = []
    remaining = order
    while remaining.size:
        i = int(remaining[0])
        keep.append(i)
        if top_k is not None and len(keep) >= top_k:
            break
        rest = remaining[1:]
        if not rest.size:
            break
        remaining = rest[iou_rows(i, rest) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def nms(boxes: Any, scores: Any, opts: Mapping[str, Any] | None = None, /,
        **fields: Any) -> Array:
    """Non-maximum suppression of ``[x1, y1, x2, y2]`` boxes; kept 0-based indices, best first.

    Options: ``iou_threshold`` (default 0.45: a box overlapping a kept one by more is dropped),
    ``score_threshold`` (boxes scoring below are dropped first; default: none), ``top_k`` (keep
    at most this many), ``class_aware`` (default ``False``; ``True`` suppresses only within a
    class), ``class_ids`` (``[N]`` class of each box; needed by ``class_aware``).
    """
    where = "nms"
    o = merge_options(opts, fields, where, _NMS_OPTIONS)
    b = _boxes(boxes, "boxes", 4).astype(np.float64)
    s = _scores(scores, b.shape[0])
    top_k = opt_int(o, "top_k", None, where, low=1)
    class_aware = opt_bool(o, "class_aware", False, where)
    if class_aware or "class_ids" in o:
        if "class_ids" not in o:
            raise TensorError("nms: option class_aware needs class_ids (one class per box)")
        ids = as_array(o["class_ids"], "nms: class_ids", ndim=(1, 2)).reshape(-1)
        if ids.shape[0] != b.shape[0]:
            raise TensorError(f"nms: class_ids must have one entry per box ({b.shape[0]}), "
                              f"got {ids.shape[0]}")
        if class_aware and b.size:
            # Shift each class to its own region of the plane: boxes of different classes
            # never overlap, so one pass suppresses within classes only.
            span = float(np.max(b) - np.min(b)) + 1.0
            b = b + (ids.astype(np.float64) * span * 2)[:, None]
    order, iou = _candidates(s, o, where)
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)

    def rows(i: int, rest: Array) -> Array:
        bi, br = b[i], b[rest]
        w = np.clip(np.minimum(bi[2], br[:, 2]) - np.maximum(bi[0], br[:, 0]), 0, None)
        h = np.clip(np.minimum(bi[3], br[:, 3]) - np.maximum(bi[1], br[:, 1]), 0, None)
        inter = w * h
        union = area[i] + area[rest] - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.where(union > 0, inter / union, 0.0))

    return _greedy(order, rows, iou, top_k)


def box_corners(r: Array) -> Array:
    """Corners ``[N, 4, 2]`` of rotated boxes ``[N, 5]``, in order around the box."""
    cx, cy, w, h, a = (r[:, k] for k in range(5))
    c, s = np.cos(a), np.sin(a)
    dx = np.stack([w, -w, -w, w], axis=1) / 2  # local corner offsets
    dy = np.stack([h, h, -h, -h], axis=1) / 2
    x = cx[:, None] + dx * c[:, None] - dy * s[:, None]
    y = cy[:, None] + dx * s[:, None] + dy * c[:, None]
    return np.stack([x, y], axis=-1)


def box_points(rotated_boxes: Any) -> Array:
    """Corners of rotated boxes: ``[5]`` → ``[4, 2]``, ``[N, 5]`` → ``[N, 4, 2]``."""
    arr = float_array(rotated_boxes, "rotated_boxes", ndim=(1, 2))
    single = arr.ndim == 1
    r = _boxes(arr, "rotated_boxes", 5, single=single).astype(np.float64)
    pts = box_corners(r)
    return pts[0] if single else pts


def _inside(p: Array, poly: Array) -> Array:
    """Whether points ``p [M, K, 2]`` lie in convex quads ``poly [M, 4, 2]`` (edges included)."""
    edge = np.roll(poly, -1, axis=1) - poly  # [M, 4, 2]
    rel = p[:, :, None, :] - poly[:, None, :, :]  # [M, K, 4, 2]
    cross = edge[:, None, :, 0] * rel[..., 1] - edge[:, None, :, 1] * rel[..., 0]
    eps = 1e-9 * (1 + np.abs(edge).max(axis=(1, 2)))[:, None, None]
    return np.asarray(np.all(cross >= -eps, axis=2) | np.all(cross <= eps, axis=2))


def _pair_iou(pa: Array, pb: Array) -> Array:
    """IoU of quads ``pa[i]`` and ``pb[i]`` (``[M, 4, 2]`` each): exact polygon intersection.

    The intersection of two convex polygons is the convex hull of the corners of each inside
    the other and the crossings of their edges; its area is the shoelace sum of those points
    sorted by angle around their centre (unused slots repeat a used point: zero area).
    """
    m = pa.shape[0]
    a1, a2 = pa, np.roll(pa, -1, axis=1)
    b1, b2 = pb, np.roll(pb, -1, axis=1)
    da = (a2 - a1)[:, :, None, :]  # [M, 4, 1, 2]
    db = (b2 - b1)[:, None, :, :]  # [M, 1, 4, 2]
    diff = b1[:, None, :, :] - a1[:, :, None, :]  # [M, 4, 4, 2]
    den = da[..., 0] * db[..., 1] - da[..., 1] * db[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (diff[..., 0] * db[..., 1] - diff[..., 1] * db[..., 0]) / den
        u = (diff[..., 0] * da[..., 1] - diff[..., 1] * da[..., 0]) / den
    # (nearly) parallel edges cross nowhere that matters: their shared stretch, if any, is
    # bounded by corners already counted as inside
    scale = np.hypot(da[..., 0], da[..., 1]) * np.hypot(db[..., 0], db[..., 1])
    cross_ok = (np.abs(den) > 1e-9 * scale) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    t = np.where(cross_ok, t, 0.0)
    crossing = a1[:, :, None, :] + t[..., None] * da  # [M, 4, 4, 2]
    pts = np.concatenate([pa, pb, crossing.reshape(m, 16, 2)], axis=1)  # [M, 24, 2]
    ok = np.concatenate([_inside(pa, pb), _inside(pb, pa), cross_ok.reshape(m, 16)], axis=1)
    pts = np.where(ok[..., None], pts, 0.0)
    count = ok.sum(axis=1)
    centre = pts.sum(axis=1) / np.maximum(count, 1)[:, None]
    ang = np.arctan2(pts[..., 1] - centre[:, None, 1], pts[..., 0] - centre[:, None, 0])
    ang = np.where(ok, ang, np.inf)
    order = np.argsort(ang, axis=1)
    sp = np.take_along_axis(pts, order[..., None], axis=1)
    sok = np.take_along_axis(ok, order, axis=1)
    sp = np.where(sok[..., None], sp, sp[:, :1, :])
    nxt = np.roll(sp, -1, axis=1)
    inter = 0.5 * np.abs(np.sum(sp[..., 0] * nxt[..., 1] - sp[..., 1] * nxt[..., 0], axis=1))
    inter = np.where(count >= 3, inter, 0.0)
    area_a = _area(pa)
    area_b = _area(pb)
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(union > 0, np.minimum(inter / union, 1.0), 0.0))


def _area(q: Array) -> Array:
    n = np.roll(q, -1, axis=1)
    return np.asarray(0.5 * np.abs(np.sum(q[..., 0] * n[..., 1] - q[..., 1] * n[..., 0],
                                          axis=1)))


def rotated_iou(a: Any, b: Any) -> Any:
    """IoU of rotated boxes: two ``[5]`` boxes give a number; ``[Na, 5]``, ``[Nb, 5]`` a matrix."""
    x = float_array(a, "a", ndim=(1, 2))
    y = float_array(b, "b", ndim=(1, 2))
    single = x.ndim == 1 and y.ndim == 1
    ra = _boxes(x, "a", 5, single=x.ndim == 1).astype(np.float64)
    rb = _boxes(y, "b", 5, single=y.ndim == 1).astype(np.float64)
    pa, pb = box_corners(ra), box_corners(rb)
    na, nb = pa.shape[0], pb.shape[0]
    iou = _pair_iou(np.repeat(pa, nb, axis=0), np.tile(pb, (na, 1, 1))).reshape(na, nb)
    return float(iou[0, 0]) if single else iou


def rotated_nms(boxes: Any, scores: Any, opts: Mapping[str, Any] | None = None, /,
                **fields: Any) -> Array:
    """NMS of rotated ``[cx, cy, w, h, angle]`` boxes by exact rotated IoU; kept indices.

    ``scores`` is ``[N]`` or ``[N, 1]``. Options: ``iou_threshold`` (0.45),
    ``score_threshold``, ``top_k``.
    """
    where = "rotated_nms"
    o = merge_options(opts, fields, where, _ROTATED_OPTIONS)
    r = _boxes(boxes, "boxes", 5).astype(np.float64)
    s = _scores(scores, r.shape[0])
    top_k = opt_int(o, "top_k", None, where, low=1)
    order, iou = _candidates(s, o, where)
    corners = box_corners(r)

    def rows(i: int, rest: Array) -> Array:
        pa = np.broadcast_to(corners[i], (rest.size, 4, 2))
        return _pair_iou(pa, corners[rest])

    return _greedy(order, rows, iou, top_k)


def check_rows(value: Any, name: str) -> Array:
    """Return a 2-D float matrix (``[R, C]``), for decoders and record builders."""
    arr = float_array(value, name, ndim=(1, 2))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if not arr.size and arr.shape[0]:
        raise TensorError(f"{name}: rows are empty ({show(arr)})")
    return arr
