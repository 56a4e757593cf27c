"""Coordinates back to the source image (boxes, points, keypoints) and a simple IoU tracker.

A *transform* is the info record of :func:`~ortsession.ops.tensor_from_image` (or any mapping
with ``scale_x``, ``scale_y``, ``pad_left``, ``pad_top``; ``offset_x``/``offset_y`` win over the
pads when present, ``crop_x``/``crop_y`` are added back). A model-input coordinate ``x`` maps to
``(x - offset_x) / scale_x + crop_x`` in the source image.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import Any, Final

import numpy as np

from ortsession._errors import OptionError, TensorError

from ._boxes import iou_matrix
from ._common import (
    Array,
    float_array,
    merge_options,
    number,
    opt_float,
    opt_int,
    shape_text,
    show,
)

__all__ = ["Tracker", "clip_boxes", "clip_keypoints", "reshape_keypoints", "scale_boxes",
           "scale_keypoints", "scale_points", "tracker"]

_POINT_OPTIONS: Final = frozenset({"x_index", "y_index", "keypoint_dim", "point_dim"})
_TRACKER_OPTIONS: Final = frozenset({"iou_threshold", "max_age", "min_hits"})


def transform_parts(transform: Any) -> tuple[float, float, float, float, float, float]:
    """``(scale_x, scale_y, offset_x, offset_y, crop_x, crop_y)`` of a transform."""
    t = asdict(transform) if is_dataclass(transform) and not isinstance(transform, type) else (
        transform)
    if not isinstance(t, Mapping):
        raise OptionError(f"transform: expected the image info record (a table with scale_x, "
                          f"scale_y, pad_left, pad_top), got {show(transform)}")
    values = []
    for key, alt in (("scale_x", None), ("scale_y", None), ("offset_x", "pad_left"),
                     ("offset_y", "pad_top"), ("crop_x", None), ("crop_y", None)):
        v = t.get(key, t.get(alt, None) if alt else None)
        if v is None:
            if key.startswith("scale"):
                raise OptionError(f"transform: field {key} is missing")
            v = 0
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise OptionError(f"transform: field {key} must be a number, got {show(v)}")
        values.append(float(v))
    if values[0] <= 0 or values[1] <= 0:
        raise OptionError(f"transform: scale_x and scale_y must be > 0, got {values[0]} and "
                          f"{values[1]}")
    sx, sy, ox, oy, cx, cy = values
    return sx, sy, ox, oy, cx, cy


def scale_boxes(boxes: Any, transform: Any) -> Array:
    """Map ``[N, 4]`` ``[x1, y1, x2, y2]`` boxes from model input to source image coordinates."""
    b = float_array(boxes, "boxes", ndim=(1, 2))
    if b.shape[-1] != 4:
        raise TensorError(f"boxes: expected [N, 4] boxes, got {shape_text(b.shape)}")
    sx, sy, ox, oy, cx, cy = transform_parts(transform)
    scale = np.array([sx, sy, sx, sy], dtype=b.dtype)
    offset = np.array([ox, oy, ox, oy], dtype=b.dtype)
    crop = np.array([cx, cy, cx, cy], dtype=b.dtype)
    return np.asarray((b - offset) / scale + crop)


def clip_boxes(boxes: Any, width: float, height: float) -> Array:
    """Clip ``[x1, y1, x2, y2]`` boxes to ``0..width`` and ``0..height``."""
    b = float_array(boxes, "boxes", ndim=(1, 2))
    if b.shape[-1] != 4:
        raise TensorError(f"boxes: expected [N, 4] boxes, got {shape_text(b.shape)}")
    w, h = number(width, "clip_boxes: width"), number(height, "clip_boxes: height")
    hi = np.array([w, h, w, h], dtype=b.dtype)
    return np.clip(b, 0, hi)


def _xy(o: Mapping[str, Any], where: str, d: int) -> tuple[int, int]:
    xi = opt_int(o, "x_index", 0, where, low=0)
    yi = opt_int(o, "y_index", 1, where, low=0)
    assert xi is not None
    assert yi is not None
    if xi >= d or yi >= d:
        raise OptionError(f"{where}: x_index/y_index must be below the point size {d}")
    return xi, yi


def scale_points(points: Any, transform: Any, opts: Mapping[str, Any] | None = None, /,
                 **fields: Any) -> Array:
    """Map points (last dimension ``[x, y, ...]``) to source coordinates; other values kept.

    Options: ``x_index`` (0), ``y_index`` (1): where x and y sit in each point.
    """
    where = "scale_points"
    o = merge_options(opts, fields, where, _POINT_OPTIONS)
    p = float_array(points, "points").copy()
    if p.ndim == 0 or p.shape[-1] < 2:
        raise TensorError(f"points: expected a last dimension of at least 2, got "
                          f"{shape_text(p.shape)}")
    xi, yi = _xy(o, where, p.shape[-1])
    sx, sy, ox, oy, cx, cy = transform_parts(transform)
    p[..., xi] = (p[..., xi] - ox) / sx + cx
    p[..., yi] = (p[..., yi] - oy) / sy + cy
    return np.asarray(p)


def reshape_keypoints(points: Any, keypoint_count: int | None = None,
                      keypoint_dim: int | Mapping[str, Any] | None = None) -> Array:
    """Switch keypoints between ``[N, K*D]`` and ``[N, K, D]``.

    ``[N, K, D]`` becomes ``[N, K*D]``. ``[N, K*D]`` becomes ``[N, K, D]`` with ``K`` =
    ``keypoint_count`` or ``D`` = ``keypoint_dim`` (default 3: x, y, score); ``keypoint_dim`` may
    also be an options mapping with ``keypoint_count``/``keypoint_dim``.
    """
    if isinstance(keypoint_dim, Mapping):
        o = merge_options(keypoint_dim, {}, "reshape_keypoints",
                          {"keypoint_count", "keypoint_dim", "point_count", "point_dim"})
        keypoint_count = o.get("keypoint_count", o.get("point_count", keypoint_count))
        keypoint_dim = o.get("keypoint_dim", o.get("point_dim"))
    for name, v in (("keypoint_count", keypoint_count), ("keypoint_dim", keypoint_dim)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TensorError(f"reshape_keypoints: {name} must be an integer, got {show(v)}")
    p = float_array(points, "points", ndim=(2, 3))
    if p.ndim == 3:
        return np.array(p.reshape(p.shape[0], -1))
    n, width = p.shape
    if keypoint_count is not None:
        k = int(keypoint_count)
        if k <= 0 or width % k:
            raise TensorError(f"reshape_keypoints: {width} values per row do not split into "
                              f"{keypoint_count} keypoints")
        return np.array(p.reshape(n, k, width // k))
    d = 3 if keypoint_dim is None else int(keypoint_dim)
    if d <= 0 or width % d:
        raise TensorError(f"reshape_keypoints: {width} values per row do not split into "
                          f"keypoints of {d} values")
    return np.array(p.reshape(n, width // d, d))


def _as_kd(points: Any, o: Mapping[str, Any], where: str) -> tuple[Array, tuple[int, ...]]:
    p = float_array(points, "points", ndim=(1, 2, 3, 4))
    shape = p.shape
    if p.ndim == 2 and ("keypoint_dim" in o or "point_dim" in o):
        d = opt_int(o, "keypoint_dim", o.get("point_dim"), where, low=2)
        assert d is not None
        if p.shape[1] % d:
            raise TensorError(f"{where}: rows of {p.shape[1]} values do not split into "
                              f"keypoints of {d} values")
        p = p.reshape(p.shape[0], -1, d)
    return p.copy(), shape


def scale_keypoints(points: Any, transform: Any, opts: Mapping[str, Any] | None = None, /,
                    **fields: Any) -> Array:
    """Map keypoints (``[N, K, D]``, or ``[N, K*D]`` with ``keypoint_dim``) to the source.

    Only x and y change (``x_index``/``y_index`` within a keypoint); the shape is kept.
    """
    where = "scale_keypoints"
    o = merge_options(opts, fields, where, _POINT_OPTIONS)
    p, shape = _as_kd(points, o, where)
    if p.shape[-1] < 2:
        raise TensorError(f"points: keypoints need at least x and y, got {shape_text(shape)}")
    xi, yi = _xy(o, where, p.shape[-1])
    sx, sy, ox, oy, cx, cy = transform_parts(transform)
    p[..., xi] = (p[..., xi] - ox) / sx + cx
    p[..., yi] = (p[..., yi] - oy) / sy + cy
    return p.reshape(shape)


def clip_keypoints(points: Any, width: float, height: float,
                   opts: Mapping[str, Any] | None = None, /, **fields: Any) -> Array:
    """Clip keypoint x to ``0..width`` and y to ``0..height`` (shape kept)."""
    where = "clip_keypoints"
    o = merge_options(opts, fields, where, _POINT_OPTIONS)
    p, shape = _as_kd(points, o, where)
    xi, yi = _xy(o, where, p.shape[-1])
    p[..., xi] = np.clip(p[..., xi], 0, number(width, f"{where}: width"))
    p[..., yi] = np.clip(p[..., yi], 0, number(height, f"{where}: height"))
    return p.reshape(shape)


class Tracker:
    """Tracks boxes across frames by IoU (SORT without motion model): stable ids per object.

    Each :meth:`update` matches the new detections to live tracks, best IoU first, above
    ``iou_threshold``; unmatched detections start tracks; a track unseen for more than
    ``max_age`` updates is dropped; a track is *confirmed* after ``min_hits`` matches.
    """

    def __init__(self, opts: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Create a tracker; options ``iou_threshold`` (0.3), ``max_age`` (30), ``min_hits`` (3)."""
        where = "tracker"
        o = merge_options(opts, fields, where, _TRACKER_OPTIONS)
        self._iou = opt_float(o, "iou_threshold", 0.3, where, low=0.0, high=1.0)
        self._max_age = opt_int(o, "max_age", 30, where, low=0)
        self._min_hits = opt_int(o, "min_hits", 3, where, low=1)
        self._ids = itertools.count(1)
        self._tracks: list[dict[str, Any]] = []
        self._frame = 0
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            from ortsession._errors import StateError

            raise StateError("tracker: the tracker is closed")

    @staticmethod
    def _detections(detections: Any) -> tuple[Array, list[dict[str, Any]]]:
        if isinstance(detections, (list, tuple)) and detections and isinstance(
                detections[0], Mapping):
            boxes, extra = [], []
            for i, d in enumerate(detections):
                box = d.get("box")
                if box is None and all(k in d for k in ("x1", "y1", "x2", "y2")):
                    box = [d["x1"], d["y1"], d["x2"], d["y2"]]
                if box is None or len(box) != 4:
                    raise TensorError(f"tracker:update: detection {i + 1} needs a box "
                                      f"(x1, y1, x2, y2)")
                boxes.append([float(v) for v in box])
                extra.append({"score": d.get("score"), "class_id": d.get("class_id")})
            return np.asarray(boxes, dtype=np.float64), extra
        if isinstance(detections, (list, tuple)) and not detections:
            return np.zeros((0, 4)), []
        arr = float_array(detections, "detections", ndim=(2,)).astype(np.float64)
        if arr.shape[1] < 4:
            raise TensorError(f"detections: expected rows [x1, y1, x2, y2(, score(, "
                              f"class_id))], got {shape_text(arr.shape)}")
        extra = [{"score": float(r[4]) if arr.shape[1] > 4 else None,
                  "class_id": int(r[5]) if arr.shape[1] > 5 else None} for r in arr]
        return arr[:, :4], extra

    def update(self, detections: Any, timestamp: float | None = None) -> list[dict[str, Any]]:
        """Feed one frame's detections; return the confirmed tracks seen in this frame.

        ``detections``: records with ``box`` (or ``x1``..``y2``) and optional ``score``,
        ``class_id``; or an ``[N, 4+]`` array ``[x1, y1, x2, y2, score, class_id]``. Each track
        record has ``id``, ``box``, ``score``, ``class_id``, ``hits``, ``age``,
        ``time_since_update``, ``timestamp``, ``detection_index`` (0-based).
        """
        self._check()
        boxes, extra = self._detections(detections)
        self._frame += 1
        live = self._tracks
        matched_t: set[int] = set()
        matched_d: dict[int, int] = {}
        if live and boxes.shape[0]:
            old = np.asarray([t["box"] for t in live], dtype=np.float64)
            iou = iou_matrix(old, boxes)
            pairs = np.argwhere(iou > self._iou)
            order = np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable")
            for ti, di in pairs[order]:  # greedy assignment over candidate pairs only
                if ti in matched_t or di in matched_d:
                    continue
                matched_t.add(int(ti))
                matched_d[int(di)] = int(ti)
        for ti, t in enumerate(live):
            t["age"] += 1
            if ti not in matched_t:
                t["time_since_update"] += 1
        for di in range(boxes.shape[0]):
            if di in matched_d:
                t = live[matched_d[di]]
                t["hits"] += 1
                t["time_since_update"] = 0
            else:
                t = {"id": next(self._ids), "hits": 1, "age": 1, "time_since_update": 0}
                live.append(t)
            t["box"] = boxes[di].tolist()
            t["score"] = extra[di]["score"]
            t["class_id"] = extra[di]["class_id"]
            t["timestamp"] = timestamp
            t["detection_index"] = di
        self._tracks = [t for t in live if t["time_since_update"] <= (self._max_age or 0)]
        return [dict(t) for t in self._tracks
                if t["time_since_update"] == 0 and (t["hits"] >= (self._min_hits or 1)
                                                    or self._frame <= (self._min_hits or 1))]

    def reset(self) -> None:
        """Forget every track and restart ids at 1."""
        self._check()
        self._tracks = []
        self._frame = 0
        self._ids = itertools.count(1)

    def state(self) -> dict[str, Any]:
        """Return ``{"frame", "tracks"}``: the frame count and every live track record."""
        self._check()
        return {"frame": self._frame, "tracks": [dict(t) for t in self._tracks]}

    def close(self) -> None:
        """Drop the tracks; later calls raise :class:`~ortsession.StateError` (idempotent)."""
        self._tracks = []
        self._closed = True


def tracker(opts: Mapping[str, Any] | None = None, /, **fields: Any) -> Tracker:
    """Create a :class:`Tracker` (options ``iou_threshold``, ``max_age``, ``min_hits``)."""
    return Tracker(opts, **fields)
